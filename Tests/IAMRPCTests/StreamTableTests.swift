import IAMRPC
import Testing

/// The connections' call table against a `Dictionary` doing the same operations.
@Suite("StreamTable")
struct StreamTableTests {
    @Test("one call at a time stays inline: no storage, and nothing left after it")
    func oneCallAtATime() {
        var table = StreamTable<String>()
        for id in stride(from: UInt32(1), through: 201, by: 2) {
            table.set(id, "call \(id)")
            #expect(table[id] == "call \(id)")
            #expect(table.count == 1)
            table.set(id, "call \(id)!")
            #expect(table.count == 1)
            #expect(table.removeValue(forKey: id) == "call \(id)!")
            #expect(table.isEmpty)
            #expect(table.capacity == 0, "call \(id) left storage behind")
        }
    }

    @Test("lookups, insertions, replacements and removals agree with a Dictionary")
    func agreesWithDictionary() {
        var generator = SplitMix64(seed: 0x5EED_7AB1E)
        for round in 0..<50 {
            var table = StreamTable<Int>()
            var model: [UInt32: Int] = [:]
            var nextID: UInt32 = 1
            for step in 0..<400 {
                // Mostly growing ids, as on the wire; sometimes an old or unknown one, and 0.
                let id: UInt32
                switch Int.random(in: 0..<10, using: &generator) {
                case 0: id = 0
                case 1: id = UInt32.random(in: 1...(nextID + 4), using: &generator)
                default:
                    let known = Array(model.keys)
                    id = known.isEmpty ? nextID : known[Int.random(in: 0..<known.count, using: &generator)]
                }
                switch Int.random(in: 0..<5, using: &generator) {
                case 0, 1:
                    let newID = Bool.random(using: &generator) ? nextID : max(id, 1)
                    if newID == nextID { nextID += 2 }
                    table.set(newID, step)
                    model[newID] = step
                case 2:
                    #expect(
                        table.removeValue(forKey: id) == model.removeValue(forKey: id), "round \(round) step \(step)")
                case 3:
                    if let value = model[id] {
                        table.set(id, value + 1000)
                        model[id] = value + 1000
                    }
                    #expect(table[id] == model[id], "round \(round) step \(step)")
                default:
                    #expect(table[id] == model[id], "round \(round) step \(step)")
                }
                #expect(table.count == model.count)
                #expect(table.isEmpty == model.isEmpty)
                #expect(table.entries.map(\.id) == model.keys.sorted(), "round \(round) step \(step)")
                #expect(table.entries.map(\.value) == model.keys.sorted().map { model[$0]! })
                if model.isEmpty { #expect(table.capacity == 0, "an empty table holds no storage") }
            }
            table.removeAll()
            #expect(table.isEmpty && table.capacity == 0 && table.entries.isEmpty)
        }
    }

    @Test("a hundred calls in flight, finished in any order")
    func manyInFlight() {
        var table = StreamTable<UInt32>()
        let ids = (0..<100).map { UInt32(2 * $0 + 1) }
        for id in ids { table.set(id, id * 10) }
        #expect(table.count == 100)
        #expect(table.capacity >= 99)
        var generator = SplitMix64(seed: 42)
        for (position, id) in ids.shuffled(using: &generator).enumerated() {
            #expect(table[id] == id * 10)
            #expect(table.removeValue(forKey: id) == id * 10)
            #expect(table[id] == nil)
            #expect(table.count == 99 - position)
        }
        #expect(table.capacity == 0)
    }
}
