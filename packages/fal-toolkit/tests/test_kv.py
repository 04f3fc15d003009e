import httpx
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


@pytest.mark.parametrize(
    ("db_name", "key"), [("db", "a/b"), ("../db", "k"), ("../db", "../k"), ("db", "")]
)
def test_kv_set_with_invalid_name_raises_naming_it(
    with_filestore: str, db_name: str, key: str
) -> None:
    store = KVStore(db_name)
    with pytest.raises(KVStoreException, match=r"name .* is not allowed"):
        store.set(key, "v")
    with pytest.raises(KVStoreException, match=r"name .* is not allowed"):
        store.get(key)


def test_kv_set_answered_404_raises(with_filestore: str) -> None:
    store = KVStore("db")
    store._client = httpx.Client(
        base_url="http://filestore.invalid",
        transport=httpx.MockTransport(
            lambda _: httpx.Response(404, json={"detail": "Not Found"})
        ),
    )

    with pytest.raises(KVStoreException, match="failed with 404"):
        store.set("k", "v")
    assert store.get("k") is None
