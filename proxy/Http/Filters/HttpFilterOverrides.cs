using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;

namespace Herald.Proxy.Http.Filters;

/// <summary>
/// A route's or virtual host's <c>typed_per_filter_config</c>, validated when the route table
/// is. Entries are recognised by their type (each filter appears at most once per HCM).
/// </summary>
internal sealed class HttpFilterOverrides
{
    public LocalRateLimitSettings? LocalRateLimit { get; private init; }

    public FaultSettings? Fault { get; private init; }

    /// <summary>Null when the map is empty.</summary>
    public static HttpFilterOverrides? Translate(MapField<string, Any> config, string path)
    {
        if (config.Count == 0)
        {
            return null;
        }

        LocalRateLimitSettings? rateLimit = null;
        FaultSettings? fault = null;
        foreach (var (name, any) in config)
        {
            var entryPath = $"{path}[{name}]";
            switch (any.TypeUrl)
            {
                case LocalRateLimitSettings.TypeUrl:
                    rateLimit = LocalRateLimitSettings.Translate(
                        any.Unpack<Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit>(), entryPath, perRoute: true);
                    break;
                case FaultSettings.TypeUrl:
                    fault = FaultSettings.Translate(any.Unpack<Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault>(), entryPath);
                    break;
                default:
                    throw new ConfigException(
                        entryPath,
                        $"per-filter config of type '{any.TypeUrl}' is not supported by Herald",
                        $"Herald honours typed_per_filter_config for {LocalRateLimitSettings.FilterName} ({LocalRateLimitSettings.TypeUrl}) and {FaultSettings.FilterName} ({FaultSettings.TypeUrl}) only");
            }
        }

        return new HttpFilterOverrides { LocalRateLimit = rateLimit, Fault = fault };
    }
}
