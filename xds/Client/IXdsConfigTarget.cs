namespace Herald.Xds.Client;

/// <summary>
/// Where the ADS client delivers configuration: the data plane. It validates the whole
/// set and swaps it in, or refuses it (the client then NACKs and keeps the last good set).
/// </summary>
public interface IXdsConfigTarget
{
    ValueTask<XdsApplyResult> ApplyAsync(XdsResources resources, CancellationToken cancellationToken);
}

/// <summary>Accepted, or refused with a message naming the resource and field.</summary>
public readonly record struct XdsApplyResult(bool Accepted, string? Error)
{
    public static XdsApplyResult Ok { get; } = new(true, null);

    public static XdsApplyResult Refused(string error) => new(false, error);
}
