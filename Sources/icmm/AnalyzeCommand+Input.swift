#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Analyze {
    /// A regular file's bytes mapped read-only: the 1M-subject CSV (40 MB) is parsed where the
    /// page cache holds it, without first being copied into freshly zeroed memory. nil for
    /// anything mmap cannot serve (a pipe, an empty file), which the caller then reads as before.
    final class MappedFile {
        let bytes: UnsafeBufferPointer<UInt8>

        init?(path: String) {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var status = stat()
            guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size > 0 else { return nil }
            let size = Int(status.st_size)
            guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else { return nil }
            bytes = UnsafeBufferPointer(start: address.assumingMemoryBound(to: UInt8.self), count: size)
        }

        deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
    }
}
