//! The in-memory storage follows the storage conformance suite.

#[tokio::test]
async fn memory_storage_conformance() {
    gate::testing::conformance(&gate::MemoryStorage::new(), "").await;
    gate::testing::conformance(&gate::MemoryStorage::new(), "ns").await;
}
