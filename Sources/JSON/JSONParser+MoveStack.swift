/// A stack whose elements are moved in and moved out, never copied: the parser's members and items
/// of the objects and arrays being read. An `Array` used this way cost a retain and release per
/// element and, to shorten it, filler values and a generic `removeLast`.
struct MoveStack<Element>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = capacity
        base = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    mutating func push(_ element: consuming Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    /// The element at `position` (below `count`), read in place.
    func withElement<Result>(at position: Int, _ body: (borrowing Element) -> Result) -> Result {
        body(base[position])
    }

    /// The elements from `start` up, moved into an array of their own (in stack order); the stack
    /// ends at `start` again.
    mutating func pop(from start: Int) -> [Element] {
        let moved = count - start
        guard moved > 0 else { return [] }
        // Not `Array(unsafeUninitializedCapacity:)`: that allocates through an unspecialized
        // function which looks up the array's type metadata at run time, which cost more than the
        // allocation itself. `reserveCapacity` is specialized.
        var array: [Element] = []
        array.reserveCapacity(moved)
        for position in start..<count { array.append((base + position).move()) }
        count = start
        return array
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }
}
