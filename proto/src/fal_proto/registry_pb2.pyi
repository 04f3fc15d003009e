import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeploymentStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOYMENT_STRATEGY_UNSPECIFIED: _ClassVar[DeploymentStrategy]
    DEPLOYMENT_STRATEGY_ROLLING: _ClassVar[DeploymentStrategy]
    DEPLOYMENT_STRATEGY_RECREATE: _ClassVar[DeploymentStrategy]

class KeyScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_SCOPE_UNSPECIFIED: _ClassVar[KeyScope]
    KEY_SCOPE_ADMIN: _ClassVar[KeyScope]
    KEY_SCOPE_API: _ClassVar[KeyScope]
DEPLOYMENT_STRATEGY_UNSPECIFIED: DeploymentStrategy
DEPLOYMENT_STRATEGY_ROLLING: DeploymentStrategy
DEPLOYMENT_STRATEGY_RECREATE: DeploymentStrategy
KEY_SCOPE_UNSPECIFIED: KeyScope
KEY_SCOPE_ADMIN: KeyScope
KEY_SCOPE_API: KeyScope

class RequirementStep(_message.Message):
    __slots__ = ("packages",)
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    packages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, packages: _Optional[_Iterable[str]] = ...) -> None: ...

class MachineRequirements(_message.Message):
    __slots__ = ("machine_types", "num_gpus", "keep_alive", "max_concurrency", "max_multiplexing", "min_concurrency", "concurrency_buffer", "concurrency_buffer_perc", "scaling_delay", "request_timeout", "startup_timeout", "valid_regions")
    MACHINE_TYPES_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    KEEP_ALIVE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    MAX_MULTIPLEXING_FIELD_NUMBER: _ClassVar[int]
    MIN_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_BUFFER_PERC_FIELD_NUMBER: _ClassVar[int]
    SCALING_DELAY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STARTUP_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    VALID_REGIONS_FIELD_NUMBER: _ClassVar[int]
    machine_types: _containers.RepeatedScalarFieldContainer[str]
    num_gpus: int
    keep_alive: int
    max_concurrency: int
    max_multiplexing: int
    min_concurrency: int
    concurrency_buffer: int
    concurrency_buffer_perc: int
    scaling_delay: int
    request_timeout: int
    startup_timeout: int
    valid_regions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, machine_types: _Optional[_Iterable[str]] = ..., num_gpus: _Optional[int] = ..., keep_alive: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., max_multiplexing: _Optional[int] = ..., min_concurrency: _Optional[int] = ..., concurrency_buffer: _Optional[int] = ..., concurrency_buffer_perc: _Optional[int] = ..., scaling_delay: _Optional[int] = ..., request_timeout: _Optional[int] = ..., startup_timeout: _Optional[int] = ..., valid_regions: _Optional[_Iterable[str]] = ...) -> None: ...

class HealthCheckConfig(_message.Message):
    __slots__ = ("path", "start_period_seconds", "timeout_seconds", "failure_threshold", "call_regularly")
    PATH_FIELD_NUMBER: _ClassVar[int]
    START_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CALL_REGULARLY_FIELD_NUMBER: _ClassVar[int]
    path: str
    start_period_seconds: int
    timeout_seconds: int
    failure_threshold: int
    call_regularly: bool
    def __init__(self, path: _Optional[str] = ..., start_period_seconds: _Optional[int] = ..., timeout_seconds: _Optional[int] = ..., failure_threshold: _Optional[int] = ..., call_regularly: _Optional[bool] = ...) -> None: ...

class ServiceURLs(_message.Message):
    __slots__ = ("playground", "run", "queue", "ws", "log")
    PLAYGROUND_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    WS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    playground: str
    run: str
    queue: str
    ws: str
    log: str
    def __init__(self, playground: _Optional[str] = ..., run: _Optional[str] = ..., queue: _Optional[str] = ..., ws: _Optional[str] = ..., log: _Optional[str] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("message", "level", "source", "timestamp")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    message: str
    level: str
    source: str
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, message: _Optional[str] = ..., level: _Optional[str] = ..., source: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterApplicationRequest(_message.Message):
    __slots__ = ("application_name", "auth_mode", "serialized_function", "serialization_method", "requirements", "python_version", "machine_requirements", "metadata_json", "deployment_strategy", "scale", "private_logs", "environment_name", "skip_retry_conditions", "termination_grace_period_seconds", "health_check_config", "endpoints", "source_code", "ephemeral", "reset_scale", "no_cache", "container_image_json")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    AUTH_MODE_FIELD_NUMBER: _ClassVar[int]
    SERIALIZED_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    SERIALIZATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    MACHINE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_LOGS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    SKIP_RETRY_CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_CONFIG_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_FIELD_NUMBER: _ClassVar[int]
    RESET_SCALE_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_IMAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    auth_mode: str
    serialized_function: bytes
    serialization_method: str
    requirements: _containers.RepeatedCompositeFieldContainer[RequirementStep]
    python_version: str
    machine_requirements: MachineRequirements
    metadata_json: str
    deployment_strategy: DeploymentStrategy
    scale: bool
    private_logs: bool
    environment_name: str
    skip_retry_conditions: _containers.RepeatedScalarFieldContainer[str]
    termination_grace_period_seconds: int
    health_check_config: HealthCheckConfig
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    source_code: str
    ephemeral: bool
    reset_scale: bool
    no_cache: bool
    container_image_json: str
    def __init__(self, application_name: _Optional[str] = ..., auth_mode: _Optional[str] = ..., serialized_function: _Optional[bytes] = ..., serialization_method: _Optional[str] = ..., requirements: _Optional[_Iterable[_Union[RequirementStep, _Mapping]]] = ..., python_version: _Optional[str] = ..., machine_requirements: _Optional[_Union[MachineRequirements, _Mapping]] = ..., metadata_json: _Optional[str] = ..., deployment_strategy: _Optional[_Union[DeploymentStrategy, str]] = ..., scale: _Optional[bool] = ..., private_logs: _Optional[bool] = ..., environment_name: _Optional[str] = ..., skip_retry_conditions: _Optional[_Iterable[str]] = ..., termination_grace_period_seconds: _Optional[int] = ..., health_check_config: _Optional[_Union[HealthCheckConfig, _Mapping]] = ..., endpoints: _Optional[_Iterable[str]] = ..., source_code: _Optional[str] = ..., ephemeral: _Optional[bool] = ..., reset_scale: _Optional[bool] = ..., no_cache: _Optional[bool] = ..., container_image_json: _Optional[str] = ...) -> None: ...

class RegisterApplicationResult(_message.Message):
    __slots__ = ("revision", "alias", "owner", "environment_name", "service_urls", "env_key")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_URLS_FIELD_NUMBER: _ClassVar[int]
    ENV_KEY_FIELD_NUMBER: _ClassVar[int]
    revision: str
    alias: str
    owner: str
    environment_name: str
    service_urls: ServiceURLs
    env_key: str
    def __init__(self, revision: _Optional[str] = ..., alias: _Optional[str] = ..., owner: _Optional[str] = ..., environment_name: _Optional[str] = ..., service_urls: _Optional[_Union[ServiceURLs, _Mapping]] = ..., env_key: _Optional[str] = ...) -> None: ...

class RegisterApplicationResponse(_message.Message):
    __slots__ = ("log", "result")
    LOG_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    log: LogLine
    result: RegisterApplicationResult
    def __init__(self, log: _Optional[_Union[LogLine, _Mapping]] = ..., result: _Optional[_Union[RegisterApplicationResult, _Mapping]] = ...) -> None: ...

class ApplicationInfo(_message.Message):
    __slots__ = ("application_id", "revision", "auth_mode", "keep_alive", "max_concurrency", "max_multiplexing", "active_runners", "min_concurrency", "concurrency_buffer", "concurrency_buffer_perc", "scaling_delay", "machine_types", "request_timeout", "startup_timeout", "valid_regions", "created_at", "environment_name", "endpoints")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    AUTH_MODE_FIELD_NUMBER: _ClassVar[int]
    KEEP_ALIVE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    MAX_MULTIPLEXING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_RUNNERS_FIELD_NUMBER: _ClassVar[int]
    MIN_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_BUFFER_PERC_FIELD_NUMBER: _ClassVar[int]
    SCALING_DELAY_FIELD_NUMBER: _ClassVar[int]
    MACHINE_TYPES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STARTUP_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    VALID_REGIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    revision: str
    auth_mode: str
    keep_alive: int
    max_concurrency: int
    max_multiplexing: int
    active_runners: int
    min_concurrency: int
    concurrency_buffer: int
    concurrency_buffer_perc: int
    scaling_delay: int
    machine_types: _containers.RepeatedScalarFieldContainer[str]
    request_timeout: int
    startup_timeout: int
    valid_regions: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    environment_name: str
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, application_id: _Optional[str] = ..., revision: _Optional[str] = ..., auth_mode: _Optional[str] = ..., keep_alive: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., max_multiplexing: _Optional[int] = ..., active_runners: _Optional[int] = ..., min_concurrency: _Optional[int] = ..., concurrency_buffer: _Optional[int] = ..., concurrency_buffer_perc: _Optional[int] = ..., scaling_delay: _Optional[int] = ..., machine_types: _Optional[_Iterable[str]] = ..., request_timeout: _Optional[int] = ..., startup_timeout: _Optional[int] = ..., valid_regions: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment_name: _Optional[str] = ..., endpoints: _Optional[_Iterable[str]] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
    __slots__ = ("application_name", "environment_name")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    environment_name: str
    def __init__(self, application_name: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class ListApplicationsResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[ApplicationInfo]
    def __init__(self, applications: _Optional[_Iterable[_Union[ApplicationInfo, _Mapping]]] = ...) -> None: ...

class AliasInfo(_message.Message):
    __slots__ = ("alias", "revision", "auth_mode", "keep_alive", "max_concurrency", "max_multiplexing", "active_runners", "min_concurrency", "concurrency_buffer", "concurrency_buffer_perc", "scaling_delay", "machine_types", "request_timeout", "startup_timeout", "valid_regions", "environment_name")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    AUTH_MODE_FIELD_NUMBER: _ClassVar[int]
    KEEP_ALIVE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    MAX_MULTIPLEXING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_RUNNERS_FIELD_NUMBER: _ClassVar[int]
    MIN_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_BUFFER_PERC_FIELD_NUMBER: _ClassVar[int]
    SCALING_DELAY_FIELD_NUMBER: _ClassVar[int]
    MACHINE_TYPES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STARTUP_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    VALID_REGIONS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    alias: str
    revision: str
    auth_mode: str
    keep_alive: int
    max_concurrency: int
    max_multiplexing: int
    active_runners: int
    min_concurrency: int
    concurrency_buffer: int
    concurrency_buffer_perc: int
    scaling_delay: int
    machine_types: _containers.RepeatedScalarFieldContainer[str]
    request_timeout: int
    startup_timeout: int
    valid_regions: _containers.RepeatedScalarFieldContainer[str]
    environment_name: str
    def __init__(self, alias: _Optional[str] = ..., revision: _Optional[str] = ..., auth_mode: _Optional[str] = ..., keep_alive: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., max_multiplexing: _Optional[int] = ..., active_runners: _Optional[int] = ..., min_concurrency: _Optional[int] = ..., concurrency_buffer: _Optional[int] = ..., concurrency_buffer_perc: _Optional[int] = ..., scaling_delay: _Optional[int] = ..., machine_types: _Optional[_Iterable[str]] = ..., request_timeout: _Optional[int] = ..., startup_timeout: _Optional[int] = ..., valid_regions: _Optional[_Iterable[str]] = ..., environment_name: _Optional[str] = ...) -> None: ...

class ListAliasesRequest(_message.Message):
    __slots__ = ("environment_name",)
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    environment_name: str
    def __init__(self, environment_name: _Optional[str] = ...) -> None: ...

class ListAliasesResponse(_message.Message):
    __slots__ = ("aliases",)
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    aliases: _containers.RepeatedCompositeFieldContainer[AliasInfo]
    def __init__(self, aliases: _Optional[_Iterable[_Union[AliasInfo, _Mapping]]] = ...) -> None: ...

class DeleteApplicationRequest(_message.Message):
    __slots__ = ("application_name", "environment_name")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    environment_name: str
    def __init__(self, application_name: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class DeleteApplicationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("owner", "key_id", "scope")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    owner: str
    key_id: str
    scope: KeyScope
    def __init__(self, owner: _Optional[str] = ..., key_id: _Optional[str] = ..., scope: _Optional[_Union[KeyScope, str]] = ...) -> None: ...

class ResolveApplicationRequest(_message.Message):
    __slots__ = ("owner", "alias")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    alias: str
    def __init__(self, owner: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class ResolveApplicationResponse(_message.Message):
    __slots__ = ("owner", "alias", "revision", "environment_name", "auth_mode", "serialized_function", "serialization_method", "requirements", "python_version", "env_key", "settings", "endpoints", "skip_retry_conditions", "termination_grace_period_seconds", "health_check_config", "secrets")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    AUTH_MODE_FIELD_NUMBER: _ClassVar[int]
    SERIALIZED_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    SERIALIZATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENV_KEY_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    SKIP_RETRY_CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_CONFIG_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    alias: str
    revision: str
    environment_name: str
    auth_mode: str
    serialized_function: bytes
    serialization_method: str
    requirements: _containers.RepeatedCompositeFieldContainer[RequirementStep]
    python_version: str
    env_key: str
    settings: MachineRequirements
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    skip_retry_conditions: _containers.RepeatedScalarFieldContainer[str]
    termination_grace_period_seconds: int
    health_check_config: HealthCheckConfig
    secrets: _containers.RepeatedCompositeFieldContainer[SecretValue]
    def __init__(self, owner: _Optional[str] = ..., alias: _Optional[str] = ..., revision: _Optional[str] = ..., environment_name: _Optional[str] = ..., auth_mode: _Optional[str] = ..., serialized_function: _Optional[bytes] = ..., serialization_method: _Optional[str] = ..., requirements: _Optional[_Iterable[_Union[RequirementStep, _Mapping]]] = ..., python_version: _Optional[str] = ..., env_key: _Optional[str] = ..., settings: _Optional[_Union[MachineRequirements, _Mapping]] = ..., endpoints: _Optional[_Iterable[str]] = ..., skip_retry_conditions: _Optional[_Iterable[str]] = ..., termination_grace_period_seconds: _Optional[int] = ..., health_check_config: _Optional[_Union[HealthCheckConfig, _Mapping]] = ..., secrets: _Optional[_Iterable[_Union[SecretValue, _Mapping]]] = ...) -> None: ...

class SecretValue(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("key_id", "key_secret")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_SECRET_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    key_secret: str
    def __init__(self, key_id: _Optional[str] = ..., key_secret: _Optional[str] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("owner", "key_id", "scope")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    owner: str
    key_id: str
    scope: KeyScope
    def __init__(self, owner: _Optional[str] = ..., key_id: _Optional[str] = ..., scope: _Optional[_Union[KeyScope, str]] = ...) -> None: ...

class RevisionInfo(_message.Message):
    __slots__ = ("revision", "application_name", "environment_name", "created_at", "endpoints", "deployment_strategy", "aliases", "env_key")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    ENV_KEY_FIELD_NUMBER: _ClassVar[int]
    revision: str
    application_name: str
    environment_name: str
    created_at: _timestamp_pb2.Timestamp
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    deployment_strategy: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    env_key: str
    def __init__(self, revision: _Optional[str] = ..., application_name: _Optional[str] = ..., environment_name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., endpoints: _Optional[_Iterable[str]] = ..., deployment_strategy: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., env_key: _Optional[str] = ...) -> None: ...

class ListRevisionsRequest(_message.Message):
    __slots__ = ("application_name", "environment_name")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    environment_name: str
    def __init__(self, application_name: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class ListRevisionsResponse(_message.Message):
    __slots__ = ("revisions",)
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[RevisionInfo]
    def __init__(self, revisions: _Optional[_Iterable[_Union[RevisionInfo, _Mapping]]] = ...) -> None: ...

class SetAliasRequest(_message.Message):
    __slots__ = ("application_name", "revision", "environment_name")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    revision: str
    environment_name: str
    def __init__(self, application_name: _Optional[str] = ..., revision: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class DeleteAliasRequest(_message.Message):
    __slots__ = ("alias", "environment_name")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    alias: str
    environment_name: str
    def __init__(self, alias: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class DeleteAliasResponse(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: str
    def __init__(self, revision: _Optional[str] = ...) -> None: ...

class DeleteRevisionRequest(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: str
    def __init__(self, revision: _Optional[str] = ...) -> None: ...

class DeleteRevisionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateApplicationRequest(_message.Message):
    __slots__ = ("application_name", "environment_name", "settings")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    environment_name: str
    settings: MachineRequirements
    def __init__(self, application_name: _Optional[str] = ..., environment_name: _Optional[str] = ..., settings: _Optional[_Union[MachineRequirements, _Mapping]] = ...) -> None: ...

class RolloutApplicationRequest(_message.Message):
    __slots__ = ("application_name", "environment_name", "force")
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    environment_name: str
    force: bool
    def __init__(self, application_name: _Optional[str] = ..., environment_name: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class RolloutApplicationResponse(_message.Message):
    __slots__ = ("runners",)
    RUNNERS_FIELD_NUMBER: _ClassVar[int]
    runners: int
    def __init__(self, runners: _Optional[int] = ...) -> None: ...

class EnvironmentInfo(_message.Message):
    __slots__ = ("name", "description", "is_default", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    is_default: bool
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., is_default: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateEnvironmentRequest(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ListEnvironmentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEnvironmentsResponse(_message.Message):
    __slots__ = ("environments",)
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    environments: _containers.RepeatedCompositeFieldContainer[EnvironmentInfo]
    def __init__(self, environments: _Optional[_Iterable[_Union[EnvironmentInfo, _Mapping]]] = ...) -> None: ...

class DeleteEnvironmentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteEnvironmentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SecretInfo(_message.Message):
    __slots__ = ("name", "created_at", "environment_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    created_at: _timestamp_pb2.Timestamp
    environment_name: str
    def __init__(self, name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment_name: _Optional[str] = ...) -> None: ...

class SetSecretRequest(_message.Message):
    __slots__ = ("name", "value", "environment_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    environment_name: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class SetSecretResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSecretsRequest(_message.Message):
    __slots__ = ("environment_name",)
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    environment_name: str
    def __init__(self, environment_name: _Optional[str] = ...) -> None: ...

class ListSecretsResponse(_message.Message):
    __slots__ = ("secrets",)
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    secrets: _containers.RepeatedCompositeFieldContainer[SecretInfo]
    def __init__(self, secrets: _Optional[_Iterable[_Union[SecretInfo, _Mapping]]] = ...) -> None: ...

class DeleteSecretRequest(_message.Message):
    __slots__ = ("name", "environment_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment_name: str
    def __init__(self, name: _Optional[str] = ..., environment_name: _Optional[str] = ...) -> None: ...

class DeleteSecretResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyInfo(_message.Message):
    __slots__ = ("key_id", "created_at", "scope", "alias")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    created_at: _timestamp_pb2.Timestamp
    scope: KeyScope
    alias: str
    def __init__(self, key_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scope: _Optional[_Union[KeyScope, str]] = ..., alias: _Optional[str] = ...) -> None: ...

class CreateKeyRequest(_message.Message):
    __slots__ = ("scope", "alias")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    scope: KeyScope
    alias: str
    def __init__(self, scope: _Optional[_Union[KeyScope, str]] = ..., alias: _Optional[str] = ...) -> None: ...

class CreateKeyResponse(_message.Message):
    __slots__ = ("key_id", "key_secret")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_SECRET_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    key_secret: str
    def __init__(self, key_id: _Optional[str] = ..., key_secret: _Optional[str] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[KeyInfo]
    def __init__(self, keys: _Optional[_Iterable[_Union[KeyInfo, _Mapping]]] = ...) -> None: ...

class RevokeKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RevokeKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunnerInfo(_message.Message):
    __slots__ = ("runner_id", "in_flight_requests", "expiration_countdown", "uptime_seconds", "revision", "alias", "state", "machine_type", "replacement", "environment_name", "external_metadata_json")
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_COUNTDOWN_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MACHINE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    in_flight_requests: int
    expiration_countdown: int
    uptime_seconds: float
    revision: str
    alias: str
    state: str
    machine_type: str
    replacement: str
    environment_name: str
    external_metadata_json: str
    def __init__(self, runner_id: _Optional[str] = ..., in_flight_requests: _Optional[int] = ..., expiration_countdown: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., revision: _Optional[str] = ..., alias: _Optional[str] = ..., state: _Optional[str] = ..., machine_type: _Optional[str] = ..., replacement: _Optional[str] = ..., environment_name: _Optional[str] = ..., external_metadata_json: _Optional[str] = ...) -> None: ...

class ListRunnersRequest(_message.Message):
    __slots__ = ("alias", "environment_name", "list_pending", "start_time")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    LIST_PENDING_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    alias: str
    environment_name: str
    list_pending: bool
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, alias: _Optional[str] = ..., environment_name: _Optional[str] = ..., list_pending: _Optional[bool] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRunnersResponse(_message.Message):
    __slots__ = ("runners",)
    RUNNERS_FIELD_NUMBER: _ClassVar[int]
    runners: _containers.RepeatedCompositeFieldContainer[RunnerInfo]
    def __init__(self, runners: _Optional[_Iterable[_Union[RunnerInfo, _Mapping]]] = ...) -> None: ...

class KillRunnerRequest(_message.Message):
    __slots__ = ("runner_id",)
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    def __init__(self, runner_id: _Optional[str] = ...) -> None: ...

class KillRunnerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopRunnerRequest(_message.Message):
    __slots__ = ("runner_id", "replace_first")
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIRST_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    replace_first: bool
    def __init__(self, runner_id: _Optional[str] = ..., replace_first: _Optional[bool] = ...) -> None: ...

class StopRunnerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRunnerLogsRequest(_message.Message):
    __slots__ = ("runner_id", "offset", "since")
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    offset: int
    since: _timestamp_pb2.Timestamp
    def __init__(self, runner_id: _Optional[str] = ..., offset: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunnerLogLine(_message.Message):
    __slots__ = ("timestamp", "level", "message", "request_id", "source")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    timestamp: str
    level: str
    message: str
    request_id: str
    source: str
    def __init__(self, timestamp: _Optional[str] = ..., level: _Optional[str] = ..., message: _Optional[str] = ..., request_id: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ListRunnerLogsResponse(_message.Message):
    __slots__ = ("lines", "next_offset")
    LINES_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[RunnerLogLine]
    next_offset: int
    def __init__(self, lines: _Optional[_Iterable[_Union[RunnerLogLine, _Mapping]]] = ..., next_offset: _Optional[int] = ...) -> None: ...
