import IAMDomain
import IAMStoreConformance
import Testing

@Suite struct InMemoryStoreConformanceTests {
    @Test(arguments: StoreConformance.caseNames)
    func conformance(_ name: String) async throws {
        try await StoreConformance.run(name, on: InMemoryStore())
    }

    @Test func closedStoreRefusesCalls() async throws {
        let store = InMemoryStore()
        try await store.close()
        await #expect(throws: IAMError.self) { _ = try await store.revision() }
    }
}
