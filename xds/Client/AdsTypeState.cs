namespace Herald.Xds.Client;

/// <summary>
/// What the client holds for one resource type. Owned by the client's single event loop;
/// <see cref="Accepted"/> is replaced, never mutated, so a refused update can be undone.
/// </summary>
internal sealed class AdsTypeState(string typeUrl, bool wildcard)
{
    public string TypeUrl { get; } = typeUrl;

    /// <summary>LDS and CDS are wildcard; RDS and EDS are requested by name.</summary>
    public bool Wildcard { get; } = wildcard;

    /// <summary>The resources last ACKed, by name.</summary>
    public Dictionary<string, AdsEntry> Accepted { get; set; } = new(StringComparer.Ordinal);

    public string Version { get; set; } = "";

    public DateTimeOffset? AcceptedAt { get; set; }

    /// <summary>A response of this type was accepted at least once, or the initial fetch timed out.</summary>
    public bool Initialized { get; set; }

    public string LastNonce { get; set; } = "";

    public XdsNack? LastNack { get; set; }

    /// <summary>The rejection last announced through <see cref="AdsClient.ConfigRejected"/>, so each is announced once.</summary>
    public XdsNack? ReportedNack { get; set; }

    /// <summary>Names requested (RDS and EDS only).</summary>
    public HashSet<string> Subscribed { get; } = new(StringComparer.Ordinal);

    /// <summary>Requested names treated as absent: they timed out, or the server removed them.</summary>
    public HashSet<string> KnownAbsent { get; } = new(StringComparer.Ordinal);

    /// <summary>One timer per requested name that has not arrived yet (for wildcard types: the initial fetch, under "*").</summary>
    public Dictionary<string, ITimer> ArrivalTimers { get; } = new(StringComparer.Ordinal);

    public bool Has(string name) => Accepted.ContainsKey(name) || KnownAbsent.Contains(name);

    public void StopTimer(string name)
    {
        if (ArrivalTimers.Remove(name, out var timer))
        {
            timer.Dispose();
        }
    }

    public XdsTypeStatus ToStatus()
    {
        var subscribed = new List<string>(Subscribed);
        subscribed.Sort(StringComparer.Ordinal);
        var names = new List<string>(Accepted.Keys);
        names.Sort(StringComparer.Ordinal);
        return new XdsTypeStatus(TypeUrl, Version, AcceptedAt, LastNonce, Wildcard, subscribed, names, LastNack);
    }
}
