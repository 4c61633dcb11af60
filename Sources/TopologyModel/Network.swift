/// The VPC: one subnet per region, plus a private service access range for Memorystore.
public struct Network: Sendable, Hashable {
    /// The VPC address space that subnets and the private service access range are carved from.
    public var cidr: IPv4Network
    /// Prefix length of derived per-region subnets.
    public var subnetPrefix: Int
    /// Explicit subnets by region; regions without one get a derived subnet.
    public var subnets: [String: IPv4Network]
    /// Explicit private service access range; derived from the top of `cidr` when `nil`.
    public var serviceAccessRange: IPv4Network?
    /// Prefix length of the derived private service access range.
    public var serviceAccessPrefix: Int
    /// The fraction of flows VPC flow logs record on every subnet, 0 to 1 (0 turns them off): what a security
    /// review and an incident need to see who talked to Redis. Default 0.5, Google's own default when enabled.
    public var flowLogSampling: Double

    public init(
        cidr: IPv4Network = IPv4Network(octets: (10, 20, 0, 0), prefix: 16),
        subnetPrefix: Int = 20,
        subnets: [String: IPv4Network] = [:],
        serviceAccessRange: IPv4Network? = nil,
        serviceAccessPrefix: Int = 20,
        flowLogSampling: Double = 0.5
    ) {
        self.cidr = cidr
        self.subnetPrefix = subnetPrefix
        self.subnets = subnets
        self.serviceAccessRange = serviceAccessRange
        self.serviceAccessPrefix = serviceAccessPrefix
        self.flowLogSampling = flowLogSampling
    }

    /// The subnet of each region: the explicit one, or the next free `/subnetPrefix` block of `cidr` in region
    /// order. `nil` for a region whose derived block does not fit (validation reports it).
    public func subnetPlan(regions: [String]) -> [(region: String, range: IPv4Network?)] {
        var taken = subnets.values.map { $0 }
        if let psa = serviceAccessRangeResolved { taken.append(psa) }
        var next: UInt64 = 0
        return regions.map { region in
            if let explicit = subnets[region] { return (region, explicit) }
            while let candidate = cidr.subdivision(index: next, prefix: subnetPrefix) {
                next += 1
                if !taken.contains(where: { $0.overlaps(candidate) }) {
                    taken.append(candidate)
                    return (region, candidate)
                }
            }
            return (region, nil)
        }
    }

    /// The private service access range: the explicit one, or the last `/serviceAccessPrefix` block of `cidr`.
    public var serviceAccessRangeResolved: IPv4Network? {
        if let serviceAccessRange { return serviceAccessRange }
        guard serviceAccessPrefix >= cidr.prefix, serviceAccessPrefix <= 32 else { return nil }
        let blocks = UInt64(1) << UInt64(serviceAccessPrefix - cidr.prefix)
        return cidr.subdivision(index: blocks - 1, prefix: serviceAccessPrefix)
    }
}

/// An IPv4 network in CIDR notation, normalised so that host bits are zero.
public struct IPv4Network: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let address: UInt32
    public let prefix: Int

    public init(octets: (UInt8, UInt8, UInt8, UInt8), prefix: Int) {
        let raw = UInt32(octets.0) << 24 | UInt32(octets.1) << 16 | UInt32(octets.2) << 8 | UInt32(octets.3)
        self.init(address: raw, prefix: prefix)
    }

    init(address: UInt32, prefix: Int) {
        self.prefix = prefix
        self.address = address & IPv4Network.mask(prefix)
    }

    /// Parses `a.b.c.d/n`. Returns `nil` for anything else, including host bits set (`10.0.0.1/16`).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix),
            parts[1].allSatisfy(\.isASCII)
        else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var raw: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt32(octet), value <= 255
            else { return nil }
            raw = raw << 8 | value
        }
        guard raw & ~IPv4Network.mask(prefix) == 0 else { return nil }
        self.init(address: raw, prefix: prefix)
    }

    static func mask(_ prefix: Int) -> UInt32 {
        prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix)
    }

    public var description: String {
        let bytes = [24, 16, 8, 0].map { String((address >> UInt32($0)) & 0xff) }
        return bytes.joined(separator: ".") + "/\(prefix)"
    }

    /// The number of addresses in the network.
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }

    var last: UInt64 { UInt64(address) + size - 1 }

    public func overlaps(_ other: IPv4Network) -> Bool {
        UInt64(address) <= other.last && UInt64(other.address) <= last
    }

    public func contains(_ other: IPv4Network) -> Bool {
        other.prefix >= prefix && UInt64(other.address) >= UInt64(address) && other.last <= last
    }

    /// The `index`-th block of length `prefix` inside this network, or `nil` if it does not fit.
    public func subdivision(index: UInt64, prefix newPrefix: Int) -> IPv4Network? {
        guard newPrefix >= prefix, newPrefix <= 32 else { return nil }
        let count = UInt64(1) << UInt64(newPrefix - prefix)
        guard index < count else { return nil }
        let start = UInt64(address) + index * (UInt64(1) << UInt64(32 - newPrefix))
        return IPv4Network(address: UInt32(start), prefix: newPrefix)
    }

    /// Whether the network lies in RFC 1918 private space.
    public var isPrivate: Bool {
        let privateRanges = [
            IPv4Network(octets: (10, 0, 0, 0), prefix: 8),
            IPv4Network(octets: (172, 16, 0, 0), prefix: 12),
            IPv4Network(octets: (192, 168, 0, 0), prefix: 16),
        ]
        return privateRanges.contains { $0.contains(self) }
    }

    public static func < (lhs: IPv4Network, rhs: IPv4Network) -> Bool {
        (lhs.address, lhs.prefix) < (rhs.address, rhs.prefix)
    }
}

/// Facts about VPC firewalls the renderers share.
public enum NetworkFacts {
    /// The deny-all ingress rule's priority: just above the implied rules (65535), so any allow rule a team adds
    /// later, at a lower number, still wins.
    public static let denyIngressPriority = 65534
}
