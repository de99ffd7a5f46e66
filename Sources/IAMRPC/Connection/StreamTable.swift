/// The calls of one connection by stream id: the table behind both connection state machines and the server's
/// per-call records.
///
/// It is made for how a connection uses it. Stream ids only grow (WIRE.md §7.1), most connections have one
/// call at a time, and a busy one has a few dozen. One entry lives inline, so a connection that makes one call
/// at a time never allocates. Further entries go to an array kept in id order and searched by halves. The array
/// gives its storage back whenever the table empties, so an idle connection holds none (issue 12).
///
/// It replaced `[UInt32: Value]`, which hashed the id on every lookup (about 150 instructions; a call looks its
/// stream up about nine times on the server) and allocated and freed its storage around every call.
package struct StreamTable<Value> {
    /// The inline entry's id, or 0 when the slot is empty (0 names the connection, never a call).
    private var inlineID: UInt32 = 0
    private var inlineValue: Value?
    /// The other entries, in increasing id order.
    private var spill: [(id: UInt32, value: Value)] = []

    package init() {}

    /// How many calls the table holds.
    package var count: Int { (self.inlineID == 0 ? 0 : 1) + self.spill.count }

    package var isEmpty: Bool { self.inlineID == 0 && self.spill.isEmpty }

    /// Entries the table has allocated room for (0 while it holds at most its inline entry).
    package var capacity: Int { self.spill.capacity }

    /// The entry for `id`, or nil.
    package subscript(id: UInt32) -> Value? {
        if id == self.inlineID { return self.inlineValue }
        guard let index = self.spillIndex(of: id) else { return nil }
        return self.spill[index].value
    }

    /// Adds the entry for `id`, or replaces it. `id` is not 0.
    package mutating func set(_ id: UInt32, _ value: Value) {
        precondition(id != 0, "stream 0 is the connection, not a call")
        if id == self.inlineID {
            self.inlineValue = value
            return
        }
        let (found, index) = self.spillSearch(id)
        if found {
            self.spill[index].value = value
        } else if self.inlineID == 0 {
            self.inlineID = id
            self.inlineValue = value
        } else {
            self.spill.insert((id, value), at: index)
        }
    }

    /// Removes the entry for `id` and returns it; nil when there was none.
    @discardableResult
    package mutating func removeValue(forKey id: UInt32) -> Value? {
        let removed: Value?
        if id != 0, id == self.inlineID {
            self.inlineID = 0
            removed = self.inlineValue.take()
        } else if let index = self.spillIndex(of: id) {
            removed = self.spill.remove(at: index).value
        } else {
            return nil
        }
        if self.isEmpty, self.spill.capacity > 0 { self.spill = [] }
        return removed
    }

    /// Removes every entry and gives the storage back.
    package mutating func removeAll() {
        self.inlineID = 0
        self.inlineValue = nil
        self.spill = []
    }

    /// Every entry, in increasing id order (a copy: for the rare paths that walk the table, such as a close).
    package var entries: [(id: UInt32, value: Value)] {
        guard self.inlineID != 0, let value = self.inlineValue else { return self.spill }
        var entries = self.spill
        entries.insert((self.inlineID, value), at: self.spillSearch(self.inlineID).index)
        return entries
    }

    private func spillIndex(of id: UInt32) -> Int? {
        let (found, index) = self.spillSearch(id)
        return found ? index : nil
    }

    /// Where `id` is in `spill`, or where it would go. New ids are the largest, so that case is answered first.
    private func spillSearch(_ id: UInt32) -> (found: Bool, index: Int) {
        guard let last = self.spill.last, last.id >= id else { return (false, self.spill.count) }
        var low = 0
        var high = self.spill.count - 1  // spill[high].id >= id
        while low < high {
            let middle = (low + high) / 2
            if self.spill[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return (self.spill[low].id == id, low)
    }
}

extension StreamTable: Sendable where Value: Sendable {}
