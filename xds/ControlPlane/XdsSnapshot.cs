using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Herald.Xds.ControlPlane;

/// <summary>One resource of a snapshot, packed once, with a version derived from its bytes.</summary>
public sealed class XdsResource
{
    public XdsResource(string name, IMessage message, bool onlyWhenNamed = false)
    {
        ArgumentNullException.ThrowIfNull(message);
        Name = name;
        Message = message;
        Packed = Any.Pack(message);
        Version = XdsSnapshot.Hash(Packed.Value.Span);
        OnlyWhenNamed = onlyWhenNamed;
    }

    public string Name { get; }

    public IMessage Message { get; }

    public Any Packed { get; }

    /// <summary>Hash of the serialized resource: equal content, equal version, on every replica.</summary>
    public string Version { get; }

    /// <summary>Sent only to subscribers that ask for it by name (gRPC API listeners on a proxy's node).</summary>
    public bool OnlyWhenNamed { get; }
}

/// <summary>The resources of one type for one node, ordered by name, with a content version.</summary>
public sealed class XdsTypeSnapshot
{
    public XdsTypeSnapshot(string typeUrl, IEnumerable<XdsResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        TypeUrl = typeUrl;
        var sorted = new SortedDictionary<string, XdsResource>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            if (!sorted.TryAdd(resource.Name, resource))
            {
                throw new InvalidOperationException($"two {typeUrl} resources are named '{resource.Name}'");
            }
        }

        Resources = sorted;
        Version = XdsSnapshot.VersionOf(sorted.Values);
    }

    public string TypeUrl { get; }

    public IReadOnlyDictionary<string, XdsResource> Resources { get; }

    public string Version { get; }
}

/// <summary>A consistent set of Envoy resources for one node.</summary>
public sealed class XdsSnapshot
{
    public XdsSnapshot(IEnumerable<XdsResource> listeners, IEnumerable<XdsResource> routes, IEnumerable<XdsResource> clusters, IEnumerable<XdsResource> endpoints)
    {
        Listeners = new XdsTypeSnapshot(XdsTypeUrls.Listener, listeners);
        Routes = new XdsTypeSnapshot(XdsTypeUrls.RouteConfiguration, routes);
        Clusters = new XdsTypeSnapshot(XdsTypeUrls.Cluster, clusters);
        Endpoints = new XdsTypeSnapshot(XdsTypeUrls.ClusterLoadAssignment, endpoints);
        Secrets = new XdsTypeSnapshot(XdsTypeUrls.Secret, []);
    }

    public XdsTypeSnapshot Listeners { get; }

    public XdsTypeSnapshot Routes { get; }

    public XdsTypeSnapshot Clusters { get; }

    public XdsTypeSnapshot Endpoints { get; }

    public XdsTypeSnapshot Secrets { get; }

    public XdsTypeSnapshot? ForType(string typeUrl) => typeUrl switch
    {
        XdsTypeUrls.Listener => Listeners,
        XdsTypeUrls.RouteConfiguration => Routes,
        XdsTypeUrls.Cluster => Clusters,
        XdsTypeUrls.ClusterLoadAssignment => Endpoints,
        XdsTypeUrls.Secret => Secrets,
        _ => null,
    };

    /// <summary>The version of a set of resources: a hash over names and bytes in name order.</summary>
    public static string VersionOf(IEnumerable<XdsResource> orderedResources)
    {
        ArgumentNullException.ThrowIfNull(orderedResources);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var resource in orderedResources)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(resource.Name));
            hash.AppendData([0]);
            hash.AppendData(Encoding.ASCII.GetBytes(resource.Version));
            hash.AppendData([0]);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 8));
    }

    internal static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 8));
}
