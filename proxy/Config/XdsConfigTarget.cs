using Herald.Proxy.Observability.Stats;
using Herald.Xds.Client;

namespace Herald.Proxy.Config;

/// <summary>
/// The data plane as the ADS client's target: validates what arrived together with the
/// bootstrap's static resources, and applies it whole or refuses it (a NACK).
/// </summary>
internal sealed class XdsConfigTarget : IXdsConfigTarget
{
    private readonly ProxyConfig _staticConfig;
    private readonly StatsStore _stats;
    private readonly Func<DataPlane?> _plane;

    public XdsConfigTarget(ProxyConfig staticConfig, StatsStore stats, Func<DataPlane?> plane)
    {
        _staticConfig = staticConfig;
        _stats = stats;
        _plane = plane;
    }

    public async ValueTask<XdsApplyResult> ApplyAsync(XdsResources resources, CancellationToken cancellationToken)
    {
        ProxyConfig config;
        try
        {
            config = XdsTranslator.Translate(_staticConfig, resources, _stats);
        }
        catch (ConfigException e)
        {
            return XdsApplyResult.Refused(e.Message);
        }

        var plane = _plane();
        if (plane is null)
        {
            return XdsApplyResult.Refused("the data plane is not running");
        }

        try
        {
            await plane.ApplyAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            return XdsApplyResult.Refused(e.Message);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // A listener could not bind: refuse, so the last good config stays.
            return XdsApplyResult.Refused($"cannot apply: {e.Message}");
        }

        if (HasInitialFetch(resources))
        {
            plane.MarkReady();
        }

        return XdsApplyResult.Ok;
    }

    /// <summary>
    /// Envoy is ready once the first LDS and CDS responses are in, not at the first config of any
    /// type: a cluster update alone must not report ready while no listener is bound yet.
    /// A bootstrap without dynamic_resources (the embedded gateway's) subscribes to both.
    /// </summary>
    private bool HasInitialFetch(XdsResources resources)
    {
        var dynamic = _staticConfig.Bootstrap.DynamicResources;
        var needsListeners = dynamic is null || dynamic.LdsConfig is not null;
        var needsClusters = dynamic is null || dynamic.CdsConfig is not null;
        return (!needsListeners || resources.VersionsByTypeUrl.ContainsKey(Herald.Xds.XdsTypeUrls.Listener))
            && (!needsClusters || resources.VersionsByTypeUrl.ContainsKey(Herald.Xds.XdsTypeUrls.Cluster));
    }
}
