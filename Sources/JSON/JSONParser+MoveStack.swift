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
        let first = base + start
        count = start
        // Up to eight (nearly every object and array of a document), as an array literal: the literal
        // allocates its storage at its final size directly, where `reserveCapacity` on an empty array
        // went through the general regrowth path (a third of the cost of a small object). Not
        // `Array(unsafeUninitializedCapacity:)` either: that allocates through an unspecialized
        // function which looks up the array's type metadata at run time.
        switch moved {
        case 0: return []
        case 1: return [first.move()]
        case 2: return [first.move(), (first + 1).move()]
        case 3: return [first.move(), (first + 1).move(), (first + 2).move()]
        case 4: return [first.move(), (first + 1).move(), (first + 2).move(), (first + 3).move()]
        case 5: return [first.move(), (first + 1).move(), (first + 2).move(), (first + 3).move(), (first + 4).move()]
        case 6:
            return [first.move(), (first + 1).move(), (first + 2).move(), (first + 3).move(), (first + 4).move(), (first + 5).move()]
        case 7:
            return [
                first.move(), (first + 1).move(), (first + 2).move(), (first + 3).move(), (first + 4).move(), (first + 5).move(),
                (first + 6).move(),
            ]
        case 8:
            return [
                first.move(), (first + 1).move(), (first + 2).move(), (first + 3).move(), (first + 4).move(), (first + 5).move(),
                (first + 6).move(), (first + 7).move(),
            ]
        default:
            var array: [Element] = []
            array.reserveCapacity(moved)
            for position in 0..<moved { array.append((first + position).move()) }
            return array
        }
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }
}
