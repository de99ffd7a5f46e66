import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One iamd per data folder: an exclusive `flock` on `<data-dir>/iamd.lock`, held while the process lives (the
/// kernel drops it when the process ends, however it ends). Two servers on one folder would each keep their own
/// snapshot of the store: a key deleted through one would keep working on the other.
final class DataFolderLock {
    private let descriptor: Int32

    /// Takes the lock of `directory`, or throws saying that another process holds it.
    init(directory: String) throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("iamd.lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DataFolderError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason =
                errno == EWOULDBLOCK ? "another iamd is serving this data folder" : String(cString: strerror(errno))
            close(descriptor)
            throw DataFolderError("cannot lock \(path): \(reason)")
        }
        self.descriptor = descriptor
    }

    deinit { close(self.descriptor) }
}

/// Why the data folder, or a file in it, cannot be used.
struct DataFolderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
