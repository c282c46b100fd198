namespace Herald.Xds.Client;

/// <summary>What the ADS client knows, for <c>/config_dump</c>: one entry per resource type.</summary>
public sealed record XdsClientStatus(bool Connected, IReadOnlyList<XdsTypeStatus> Types)
{
    public static XdsClientStatus Initial { get; } = new(false, []);

    public XdsTypeStatus? Find(string typeUrl)
    {
        foreach (var type in Types)
        {
            if (type.TypeUrl == typeUrl)
            {
                return type;
            }
        }

        return null;
    }
}

/// <summary>
/// One resource type: the version last accepted (ACKed), the nonce of the last response,
/// the names subscribed (empty for wildcard types), and the last rejection.
/// </summary>
public sealed record XdsTypeStatus(
    string TypeUrl,
    string AcceptedVersion,
    DateTimeOffset? AcceptedAt,
    string LastNonce,
    bool Wildcard,
    IReadOnlyList<string> SubscribedNames,
    IReadOnlyList<string> ResourceNames,
    XdsNack? LastNack);

/// <summary>A rejected update: the version the server offered, why, and when.</summary>
public sealed record XdsNack(string RejectedVersion, string Message, DateTimeOffset Time);
