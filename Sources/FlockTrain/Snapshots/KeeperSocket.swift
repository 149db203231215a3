import Foundation

/// The few TCP calls a snapshot keeper and its clients make (POSIX sockets, IPv4), each
/// failure naming the peer and the system's reason. Every call on a connection is bounded
/// by its timeout, so a host that vanished (no reset, no answer) costs seconds, not forever.
enum KeeperSocket {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ what: String, code: Int32 = errno) { description = "\(what): \(String(cString: strerror(code)))" }
        init(message: String) { description = message }
    }

    /// A socket listening on every address at a port the system picks: (descriptor, port).
    static func listen() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("cannot open a socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = INADDR_ANY
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && Glibc.listen(descriptor, 64) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(descriptor)
            throw Failure("cannot listen on a TCP port", code: code)
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A connection to `host:port` (an IPv4 address), given up after `timeout` seconds;
    /// reads and writes on it time out the same way.
    static func connect(to host: String, port: Int, timeout: TimeInterval) throws -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure(message: "\(host): not an IPv4 address") }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("cannot open a socket") }
        // Non-blocking while connecting, so a silent host costs `timeout`, not the kernel's minutes.
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        let started = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 {
            guard errno == EINPROGRESS else { let code = errno; close(descriptor); throw Failure("\(host):\(port): cannot connect", code: code) }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeout * 1000))
            var problem: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &problem, &size)
            guard ready == 1, problem == 0 else {
                close(descriptor)
                if ready == 0 { throw Failure(message: "\(host):\(port): no answer within \(timeout) s") }
                throw Failure("\(host):\(port): cannot connect", code: problem)
            }
        }
        _ = fcntl(descriptor, F_SETFL, flags)
        setTimeout(descriptor, timeout)
        return descriptor
    }

    /// Reads and writes on `descriptor` give up after `seconds`.
    static func setTimeout(_ descriptor: Int32, _ seconds: TimeInterval) {
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    static func send(_ data: Data, on descriptor: Int32) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw Failure("cannot send")
                }
                offset += sent
            }
        }
    }

    /// Exactly `count` bytes; nil when the peer closed the connection before the first.
    static func receive(_ count: Int, on descriptor: Int32) throws -> Data? {
        var data = Data(count: count)
        var offset = 0
        try data.withUnsafeMutableBytes { raw in
            while offset < count {
                let got = recv(descriptor, raw.baseAddress! + offset, count - offset, 0)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw Failure(errno == EAGAIN ? "no answer in time" : "cannot receive")
                }
                if got == 0 { break }
                offset += got
            }
        }
        if offset == 0 && count > 0 { return nil }
        guard offset == count else { throw Failure(message: "the connection closed mid-message (\(offset) of \(count) bytes)") }
        return data
    }

    /// This machine's IPv4 addresses, loopback last: a keeper names them all, and a client
    /// takes the first that answers.
    static func localAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return ["127.0.0.1"] }
        defer { freeifaddrs(list) }
        var found: [String] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) {
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                    var raw = inet.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                }
                found.append(String(cString: text))
            }
            entry = current.pointee.ifa_next
        }
        let outside = found.filter { !$0.hasPrefix("127.") }
        return outside + ["127.0.0.1"]
    }
}
