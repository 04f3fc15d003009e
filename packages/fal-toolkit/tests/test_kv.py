import pytest

from fal.toolkit import KVStore, KVStoreException


def test_kv_set_get_delete(with_filestore: str) -> None:
    store = KVStore("sessions")
    store.set("user-1", "state", ttl=120)
    assert store.get("user-1") == "state"
    store.delete("user-1")
    assert store.get("user-1") is None


def test_kv_value_over_limit_is_clear_error(with_filestore: str) -> None:
    with pytest.raises(KVStoreException, match="limit"):
        KVStore("big").set("k", "x" * (1024 * 1024 + 1))


def test_kv_ttl_out_of_range_is_refused(with_filestore: str) -> None:
    with pytest.raises(KVStoreException, match="TTL 10"):
        KVStore("db").set("k", "v", ttl=10)


def test_kv_without_filestore_is_clear_error() -> None:
    with pytest.raises(KVStoreException, match="FAL_FILESTORE_URL"):
        KVStore("db").get("k")
