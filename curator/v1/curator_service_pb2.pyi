import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    KEEP: _ClassVar[Verdict]
    DROP: _ClassVar[Verdict]
    REVIEW: _ClassVar[Verdict]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_DROP: _ClassVar[Action]
    ACTION_REVIEW: _ClassVar[Action]
    ACTION_FLAG: _ClassVar[Action]

class DedupKey(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEDUP_KEY_UNSPECIFIED: _ClassVar[DedupKey]
    DEDUP_KEY_SAMPLE: _ClassVar[DedupKey]
    DEDUP_KEY_PROMPT: _ClassVar[DedupKey]
    DEDUP_KEY_RESPONSE: _ClassVar[DedupKey]

class ReviewState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_STATE_UNSPECIFIED: _ClassVar[ReviewState]
    REVIEW_STATE_PENDING: _ClassVar[ReviewState]
    REVIEW_STATE_APPROVED: _ClassVar[ReviewState]
    REVIEW_STATE_REJECTED: _ClassVar[ReviewState]

class ReviewAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_ACTION_UNSPECIFIED: _ClassVar[ReviewAction]
    REVIEW_ACTION_APPROVE: _ClassVar[ReviewAction]
    REVIEW_ACTION_REJECT: _ClassVar[ReviewAction]
VERDICT_UNSPECIFIED: Verdict
KEEP: Verdict
DROP: Verdict
REVIEW: Verdict
ACTION_UNSPECIFIED: Action
ACTION_DROP: Action
ACTION_REVIEW: Action
ACTION_FLAG: Action
DEDUP_KEY_UNSPECIFIED: DedupKey
DEDUP_KEY_SAMPLE: DedupKey
DEDUP_KEY_PROMPT: DedupKey
DEDUP_KEY_RESPONSE: DedupKey
REVIEW_STATE_UNSPECIFIED: ReviewState
REVIEW_STATE_PENDING: ReviewState
REVIEW_STATE_APPROVED: ReviewState
REVIEW_STATE_REJECTED: ReviewState
REVIEW_ACTION_UNSPECIFIED: ReviewAction
REVIEW_ACTION_APPROVE: ReviewAction
REVIEW_ACTION_REJECT: ReviewAction

class Message(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class Sample(_message.Message):
    __slots__ = ("id", "text", "instruction", "input", "output", "messages", "context", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    instruction: str
    input: str
    output: str
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    context: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., instruction: _Optional[str] = ..., input: _Optional[str] = ..., output: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., context: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class FilterRequest(_message.Message):
    __slots__ = ("collection", "samples", "dry_run", "score_all")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    SCORE_ALL_FIELD_NUMBER: _ClassVar[int]
    collection: str
    samples: _containers.RepeatedCompositeFieldContainer[Sample]
    dry_run: bool
    score_all: bool
    def __init__(self, collection: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[Sample, _Mapping]]] = ..., dry_run: _Optional[bool] = ..., score_all: _Optional[bool] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "check", "message", "score", "threshold", "matched_id", "action")
    CODE_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MATCHED_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    check: str
    message: str
    score: float
    threshold: float
    matched_id: str
    action: Action
    def __init__(self, code: _Optional[str] = ..., check: _Optional[str] = ..., message: _Optional[str] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., matched_id: _Optional[str] = ..., action: _Optional[_Union[Action, str]] = ...) -> None: ...

class Annotation(_message.Message):
    __slots__ = ("check", "kind", "subject", "label", "start", "end", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHECK_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    check: str
    kind: str
    subject: str
    label: str
    start: int
    end: int
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, check: _Optional[str] = ..., kind: _Optional[str] = ..., subject: _Optional[str] = ..., label: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("sample_id", "verdict", "reasons", "scores", "policy_version", "annotations")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SAMPLE_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    sample_id: str
    verdict: Verdict
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    scores: _containers.ScalarMap[str, float]
    policy_version: int
    annotations: _containers.RepeatedCompositeFieldContainer[Annotation]
    def __init__(self, sample_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., scores: _Optional[_Mapping[str, float]] = ..., policy_version: _Optional[int] = ..., annotations: _Optional[_Iterable[_Union[Annotation, _Mapping]]] = ...) -> None: ...

class FilterResponse(_message.Message):
    __slots__ = ("decisions", "error")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    error: _status_pb2.Status
    def __init__(self, decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class RulePolicy(_message.Message):
    __slots__ = ("threshold", "action", "review_threshold")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVIEW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    action: Action
    review_threshold: float
    def __init__(self, threshold: _Optional[float] = ..., action: _Optional[_Union[Action, str]] = ..., review_threshold: _Optional[float] = ...) -> None: ...

class CheckPolicy(_message.Message):
    __slots__ = ("enabled", "rules", "params")
    class RulesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: RulePolicy
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[RulePolicy, _Mapping]] = ...) -> None: ...
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    rules: _containers.MessageMap[str, RulePolicy]
    params: _containers.ScalarMap[str, float]
    def __init__(self, enabled: _Optional[bool] = ..., rules: _Optional[_Mapping[str, RulePolicy]] = ..., params: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("dedup_key", "checks")
    class ChecksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: CheckPolicy
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[CheckPolicy, _Mapping]] = ...) -> None: ...
    DEDUP_KEY_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    dedup_key: DedupKey
    checks: _containers.MessageMap[str, CheckPolicy]
    def __init__(self, dedup_key: _Optional[_Union[DedupKey, str]] = ..., checks: _Optional[_Mapping[str, CheckPolicy]] = ...) -> None: ...

class Collection(_message.Message):
    __slots__ = ("name", "policy", "policy_version", "create_time", "kept_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    KEPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: Policy
    policy_version: int
    create_time: _timestamp_pb2.Timestamp
    kept_count: int
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., policy_version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kept_count: _Optional[int] = ...) -> None: ...

class CreateCollectionRequest(_message.Message):
    __slots__ = ("name", "policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: Policy
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class GetCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections",)
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[Collection]
    def __init__(self, collections: _Optional[_Iterable[_Union[Collection, _Mapping]]] = ...) -> None: ...

class UpdatePolicyRequest(_message.Message):
    __slots__ = ("name", "policy", "update_mask")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: Policy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("collection", "start_time", "end_time", "bucket_seconds", "group_by")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    collection: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    bucket_seconds: int
    group_by: str
    def __init__(self, collection: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_seconds: _Optional[int] = ..., group_by: _Optional[str] = ...) -> None: ...

class VerdictCounts(_message.Message):
    __slots__ = ("keep", "drop", "review", "total")
    KEEP_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    keep: int
    drop: int
    review: int
    total: int
    def __init__(self, keep: _Optional[int] = ..., drop: _Optional[int] = ..., review: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class GroupCounts(_message.Message):
    __slots__ = ("key", "counts")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    key: str
    counts: VerdictCounts
    def __init__(self, key: _Optional[str] = ..., counts: _Optional[_Union[VerdictCounts, _Mapping]] = ...) -> None: ...

class TimeBucket(_message.Message):
    __slots__ = ("start_time", "counts")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    counts: VerdictCounts
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Union[VerdictCounts, _Mapping]] = ...) -> None: ...

class DiversityWindow(_message.Message):
    __slots__ = ("start_time", "group", "kept", "mean_nn_distance", "cluster_entropy", "distinct_3", "collapsed")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    MEAN_NN_DISTANCE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_3_FIELD_NUMBER: _ClassVar[int]
    COLLAPSED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    group: str
    kept: int
    mean_nn_distance: float
    cluster_entropy: float
    distinct_3: float
    collapsed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group: _Optional[str] = ..., kept: _Optional[int] = ..., mean_nn_distance: _Optional[float] = ..., cluster_entropy: _Optional[float] = ..., distinct_3: _Optional[float] = ..., collapsed: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("totals", "by_reason", "by_check", "by_group", "series", "bucket_seconds", "diversity", "reviews")
    class ByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ByCheckEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    BY_REASON_FIELD_NUMBER: _ClassVar[int]
    BY_CHECK_FIELD_NUMBER: _ClassVar[int]
    BY_GROUP_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DIVERSITY_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    totals: VerdictCounts
    by_reason: _containers.ScalarMap[str, int]
    by_check: _containers.ScalarMap[str, int]
    by_group: _containers.RepeatedCompositeFieldContainer[GroupCounts]
    series: _containers.RepeatedCompositeFieldContainer[TimeBucket]
    bucket_seconds: int
    diversity: _containers.RepeatedCompositeFieldContainer[DiversityWindow]
    reviews: ReviewCounts
    def __init__(self, totals: _Optional[_Union[VerdictCounts, _Mapping]] = ..., by_reason: _Optional[_Mapping[str, int]] = ..., by_check: _Optional[_Mapping[str, int]] = ..., by_group: _Optional[_Iterable[_Union[GroupCounts, _Mapping]]] = ..., series: _Optional[_Iterable[_Union[TimeBucket, _Mapping]]] = ..., bucket_seconds: _Optional[int] = ..., diversity: _Optional[_Iterable[_Union[DiversityWindow, _Mapping]]] = ..., reviews: _Optional[_Union[ReviewCounts, _Mapping]] = ...) -> None: ...

class ReviewCounts(_message.Message):
    __slots__ = ("pending", "approved", "rejected")
    PENDING_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    pending: int
    approved: int
    rejected: int
    def __init__(self, pending: _Optional[int] = ..., approved: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("collection", "verdict", "reason", "check", "metadata_key", "metadata_value", "review_state", "sample_id", "start_time", "end_time", "page_size", "page_token")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    METADATA_KEY_FIELD_NUMBER: _ClassVar[int]
    METADATA_VALUE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_STATE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collection: str
    verdict: Verdict
    reason: str
    check: str
    metadata_key: str
    metadata_value: str
    review_state: ReviewState
    sample_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, collection: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reason: _Optional[str] = ..., check: _Optional[str] = ..., metadata_key: _Optional[str] = ..., metadata_value: _Optional[str] = ..., review_state: _Optional[_Union[ReviewState, str]] = ..., sample_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("action", "reviewer", "note", "review_time")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TIME_FIELD_NUMBER: _ClassVar[int]
    action: ReviewAction
    reviewer: str
    note: str
    review_time: _timestamp_pb2.Timestamp
    def __init__(self, action: _Optional[_Union[ReviewAction, str]] = ..., reviewer: _Optional[str] = ..., note: _Optional[str] = ..., review_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LoggedDecision(_message.Message):
    __slots__ = ("decision_id", "collection", "decide_time", "decision", "sample", "review_state", "review")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_STATE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    collection: str
    decide_time: _timestamp_pb2.Timestamp
    decision: Decision
    sample: Sample
    review_state: ReviewState
    review: Review
    def __init__(self, decision_id: _Optional[str] = ..., collection: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision: _Optional[_Union[Decision, _Mapping]] = ..., sample: _Optional[_Union[Sample, _Mapping]] = ..., review_state: _Optional[_Union[ReviewState, str]] = ..., review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class MatchedSample(_message.Message):
    __slots__ = ("collection", "sample")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    collection: str
    sample: Sample
    def __init__(self, collection: _Optional[str] = ..., sample: _Optional[_Union[Sample, _Mapping]] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("decisions", "matched", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[LoggedDecision]
    matched: _containers.RepeatedCompositeFieldContainer[MatchedSample]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[LoggedDecision, _Mapping]]] = ..., matched: _Optional[_Iterable[_Union[MatchedSample, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReviewDecisionRequest(_message.Message):
    __slots__ = ("decision_id", "action", "reviewer", "note")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    action: ReviewAction
    reviewer: str
    note: str
    def __init__(self, decision_id: _Optional[str] = ..., action: _Optional[_Union[ReviewAction, str]] = ..., reviewer: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class GetBiasReportRequest(_message.Message):
    __slots__ = ("collection", "start_time", "end_time")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    collection: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, collection: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BiasGroup(_message.Message):
    __slots__ = ("group", "counts", "share", "reference", "drop_rate", "disproportionate_drop", "drop_rate_lower")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DROP_RATE_FIELD_NUMBER: _ClassVar[int]
    DISPROPORTIONATE_DROP_FIELD_NUMBER: _ClassVar[int]
    DROP_RATE_LOWER_FIELD_NUMBER: _ClassVar[int]
    group: str
    counts: VerdictCounts
    share: float
    reference: float
    drop_rate: float
    disproportionate_drop: bool
    drop_rate_lower: float
    def __init__(self, group: _Optional[str] = ..., counts: _Optional[_Union[VerdictCounts, _Mapping]] = ..., share: _Optional[float] = ..., reference: _Optional[float] = ..., drop_rate: _Optional[float] = ..., disproportionate_drop: _Optional[bool] = ..., drop_rate_lower: _Optional[float] = ...) -> None: ...

class BiasEvidence(_message.Message):
    __slots__ = ("method", "counts")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    method: str
    counts: VerdictCounts
    def __init__(self, method: _Optional[str] = ..., counts: _Optional[_Union[VerdictCounts, _Mapping]] = ...) -> None: ...

class BiasAxis(_message.Message):
    __slots__ = ("axis", "counts", "groups", "total_variation", "js_divergence", "drop_rate", "disproportionate_drop", "drop_rate_lower", "label", "evidence")
    AXIS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VARIATION_FIELD_NUMBER: _ClassVar[int]
    JS_DIVERGENCE_FIELD_NUMBER: _ClassVar[int]
    DROP_RATE_FIELD_NUMBER: _ClassVar[int]
    DISPROPORTIONATE_DROP_FIELD_NUMBER: _ClassVar[int]
    DROP_RATE_LOWER_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    axis: str
    counts: VerdictCounts
    groups: _containers.RepeatedCompositeFieldContainer[BiasGroup]
    total_variation: float
    js_divergence: float
    drop_rate: float
    disproportionate_drop: bool
    drop_rate_lower: float
    label: str
    evidence: _containers.RepeatedCompositeFieldContainer[BiasEvidence]
    def __init__(self, axis: _Optional[str] = ..., counts: _Optional[_Union[VerdictCounts, _Mapping]] = ..., groups: _Optional[_Iterable[_Union[BiasGroup, _Mapping]]] = ..., total_variation: _Optional[float] = ..., js_divergence: _Optional[float] = ..., drop_rate: _Optional[float] = ..., disproportionate_drop: _Optional[bool] = ..., drop_rate_lower: _Optional[float] = ..., label: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[BiasEvidence, _Mapping]]] = ...) -> None: ...

class BiasTermCount(_message.Message):
    __slots__ = ("subject", "label", "counts")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    subject: str
    label: str
    counts: VerdictCounts
    def __init__(self, subject: _Optional[str] = ..., label: _Optional[str] = ..., counts: _Optional[_Union[VerdictCounts, _Mapping]] = ...) -> None: ...

class OccupationGender(_message.Message):
    __slots__ = ("occupation", "stereotype", "male", "female", "neutral")
    OCCUPATION_FIELD_NUMBER: _ClassVar[int]
    STEREOTYPE_FIELD_NUMBER: _ClassVar[int]
    MALE_FIELD_NUMBER: _ClassVar[int]
    FEMALE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    occupation: str
    stereotype: str
    male: int
    female: int
    neutral: int
    def __init__(self, occupation: _Optional[str] = ..., stereotype: _Optional[str] = ..., male: _Optional[int] = ..., female: _Optional[int] = ..., neutral: _Optional[int] = ...) -> None: ...

class BiasReport(_message.Message):
    __slots__ = ("source", "lexicon_version", "totals", "overall_drop_rate", "drop_factor", "min_count", "axes", "gender_terms", "occupations", "stereotypes", "toxic", "flags", "min_drops")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LEXICON_VERSION_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    OVERALL_DROP_RATE_FIELD_NUMBER: _ClassVar[int]
    DROP_FACTOR_FIELD_NUMBER: _ClassVar[int]
    MIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    GENDER_TERMS_FIELD_NUMBER: _ClassVar[int]
    OCCUPATIONS_FIELD_NUMBER: _ClassVar[int]
    STEREOTYPES_FIELD_NUMBER: _ClassVar[int]
    TOXIC_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    MIN_DROPS_FIELD_NUMBER: _ClassVar[int]
    source: str
    lexicon_version: str
    totals: VerdictCounts
    overall_drop_rate: float
    drop_factor: float
    min_count: int
    axes: _containers.RepeatedCompositeFieldContainer[BiasAxis]
    gender_terms: _containers.RepeatedCompositeFieldContainer[BiasTermCount]
    occupations: _containers.RepeatedCompositeFieldContainer[OccupationGender]
    stereotypes: _containers.RepeatedCompositeFieldContainer[BiasTermCount]
    toxic: _containers.RepeatedCompositeFieldContainer[BiasTermCount]
    flags: _containers.RepeatedScalarFieldContainer[str]
    min_drops: int
    def __init__(self, source: _Optional[str] = ..., lexicon_version: _Optional[str] = ..., totals: _Optional[_Union[VerdictCounts, _Mapping]] = ..., overall_drop_rate: _Optional[float] = ..., drop_factor: _Optional[float] = ..., min_count: _Optional[int] = ..., axes: _Optional[_Iterable[_Union[BiasAxis, _Mapping]]] = ..., gender_terms: _Optional[_Iterable[_Union[BiasTermCount, _Mapping]]] = ..., occupations: _Optional[_Iterable[_Union[OccupationGender, _Mapping]]] = ..., stereotypes: _Optional[_Iterable[_Union[BiasTermCount, _Mapping]]] = ..., toxic: _Optional[_Iterable[_Union[BiasTermCount, _Mapping]]] = ..., flags: _Optional[_Iterable[str]] = ..., min_drops: _Optional[int] = ...) -> None: ...

class EvalItem(_message.Message):
    __slots__ = ("id", "text")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class AddEvalSetRequest(_message.Message):
    __slots__ = ("name", "items", "source")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    items: _containers.RepeatedCompositeFieldContainer[EvalItem]
    source: str
    def __init__(self, name: _Optional[str] = ..., items: _Optional[_Iterable[_Union[EvalItem, _Mapping]]] = ..., source: _Optional[str] = ...) -> None: ...

class EvalSet(_message.Message):
    __slots__ = ("name", "items", "create_time", "source")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    items: int
    create_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, name: _Optional[str] = ..., items: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class ListEvalSetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEvalSetsResponse(_message.Message):
    __slots__ = ("eval_sets",)
    EVAL_SETS_FIELD_NUMBER: _ClassVar[int]
    eval_sets: _containers.RepeatedCompositeFieldContainer[EvalSet]
    def __init__(self, eval_sets: _Optional[_Iterable[_Union[EvalSet, _Mapping]]] = ...) -> None: ...

class RemoveEvalSetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RescanEvalSetsRequest(_message.Message):
    __slots__ = ("collection", "eval_set")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    collection: str
    eval_set: str
    def __init__(self, collection: _Optional[str] = ..., eval_set: _Optional[str] = ...) -> None: ...

class ContaminationFinding(_message.Message):
    __slots__ = ("collection", "sample_id", "code", "eval_set", "item_id", "score", "detail")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    collection: str
    sample_id: str
    code: str
    eval_set: str
    item_id: str
    score: float
    detail: str
    def __init__(self, collection: _Optional[str] = ..., sample_id: _Optional[str] = ..., code: _Optional[str] = ..., eval_set: _Optional[str] = ..., item_id: _Optional[str] = ..., score: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class RescanEvalSetsResponse(_message.Message):
    __slots__ = ("findings",)
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    findings: _containers.RepeatedCompositeFieldContainer[ContaminationFinding]
    def __init__(self, findings: _Optional[_Iterable[_Union[ContaminationFinding, _Mapping]]] = ...) -> None: ...

class AddReferenceRequest(_message.Message):
    __slots__ = ("collection", "items")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    items: _containers.RepeatedCompositeFieldContainer[EvalItem]
    def __init__(self, collection: _Optional[str] = ..., items: _Optional[_Iterable[_Union[EvalItem, _Mapping]]] = ...) -> None: ...

class AddReferenceResponse(_message.Message):
    __slots__ = ("reference_items",)
    REFERENCE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    reference_items: int
    def __init__(self, reference_items: _Optional[int] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("collection", "group_by", "k", "clusters")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    group_by: str
    k: int
    clusters: int
    def __init__(self, collection: _Optional[str] = ..., group_by: _Optional[str] = ..., k: _Optional[int] = ..., clusters: _Optional[int] = ...) -> None: ...

class CoverageRegion(_message.Message):
    __slots__ = ("cluster", "real_share", "synthetic_share", "status", "examples")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    REAL_SHARE_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_SHARE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    cluster: int
    real_share: float
    synthetic_share: float
    status: str
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster: _Optional[int] = ..., real_share: _Optional[float] = ..., synthetic_share: _Optional[float] = ..., status: _Optional[str] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

class CoverageMix(_message.Message):
    __slots__ = ("value", "kept", "share")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    value: str
    kept: int
    share: float
    def __init__(self, value: _Optional[str] = ..., kept: _Optional[int] = ..., share: _Optional[float] = ...) -> None: ...

class CoverageReport(_message.Message):
    __slots__ = ("collection", "reference_items", "synthetic_kept", "k", "precision", "recall", "regions", "mix_key", "mix", "reference_metrics", "synthetic_metrics", "sampled", "windows")
    class ReferenceMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class SyntheticMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_KEPT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    MIX_KEY_FIELD_NUMBER: _ClassVar[int]
    MIX_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_METRICS_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_METRICS_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    reference_items: int
    synthetic_kept: int
    k: int
    precision: float
    recall: float
    regions: _containers.RepeatedCompositeFieldContainer[CoverageRegion]
    mix_key: str
    mix: _containers.RepeatedCompositeFieldContainer[CoverageMix]
    reference_metrics: _containers.ScalarMap[str, float]
    synthetic_metrics: _containers.ScalarMap[str, float]
    sampled: bool
    windows: _containers.RepeatedCompositeFieldContainer[ReferenceWindow]
    def __init__(self, collection: _Optional[str] = ..., reference_items: _Optional[int] = ..., synthetic_kept: _Optional[int] = ..., k: _Optional[int] = ..., precision: _Optional[float] = ..., recall: _Optional[float] = ..., regions: _Optional[_Iterable[_Union[CoverageRegion, _Mapping]]] = ..., mix_key: _Optional[str] = ..., mix: _Optional[_Iterable[_Union[CoverageMix, _Mapping]]] = ..., reference_metrics: _Optional[_Mapping[str, float]] = ..., synthetic_metrics: _Optional[_Mapping[str, float]] = ..., sampled: _Optional[bool] = ..., windows: _Optional[_Iterable[_Union[ReferenceWindow, _Mapping]]] = ...) -> None: ...

class ReferenceWindow(_message.Message):
    __slots__ = ("start_time", "kept", "window", "reference", "below")
    class WindowEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ReferenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    BELOW_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    kept: int
    window: _containers.ScalarMap[str, float]
    reference: _containers.ScalarMap[str, float]
    below: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kept: _Optional[int] = ..., window: _Optional[_Mapping[str, float]] = ..., reference: _Optional[_Mapping[str, float]] = ..., below: _Optional[_Iterable[str]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_batch", "max_text_chars", "max_id_chars", "max_metadata_entries", "max_metadata_key_chars", "max_metadata_value_chars", "max_context_items", "max_messages")
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    MAX_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_ID_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_METADATA_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MAX_METADATA_KEY_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_METADATA_VALUE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONTEXT_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    max_batch: int
    max_text_chars: int
    max_id_chars: int
    max_metadata_entries: int
    max_metadata_key_chars: int
    max_metadata_value_chars: int
    max_context_items: int
    max_messages: int
    def __init__(self, max_batch: _Optional[int] = ..., max_text_chars: _Optional[int] = ..., max_id_chars: _Optional[int] = ..., max_metadata_entries: _Optional[int] = ..., max_metadata_key_chars: _Optional[int] = ..., max_metadata_value_chars: _Optional[int] = ..., max_context_items: _Optional[int] = ..., max_messages: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "limits")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    version: str
    limits: Limits
    def __init__(self, version: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...
