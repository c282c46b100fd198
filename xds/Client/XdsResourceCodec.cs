using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace Herald.Xds.Client;

/// <summary>
/// One decoded resource, with the names of the resources it depends on: <paramref name="References"/>
/// (routes of a listener, the load assignment of a cluster) and the SDS secrets of a listener.
/// </summary>
internal sealed record AdsEntry(string Name, IMessage Message, string Version, IReadOnlyList<string> References)
{
    public IReadOnlyList<string> SecretReferences { get; init; } = [];
}

/// <summary>
/// Decodes the resource types the ADS client subscribes to and finds what each depends on
/// (listeners name route configurations, EDS clusters name load assignments).
/// </summary>
internal static class XdsResourceCodec
{
    public const string DownstreamTlsContextTypeUrl =
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

    public const string HttpConnectionManagerTypeUrl =
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

    /// <summary>Parses one resource; throws <see cref="InvalidDataException"/> with a message for the NACK.</summary>
    public static AdsEntry Decode(string typeUrl, Any any, string version, string? declaredName)
    {
        if (any.TypeUrl != typeUrl)
        {
            throw new InvalidDataException($"resource of type '{any.TypeUrl}' in a response of type '{typeUrl}'");
        }

        IMessage message;
        string name;
        IReadOnlyList<string> references;
        IReadOnlyList<string> secrets = [];
        try
        {
            switch (typeUrl)
            {
                case XdsTypeUrls.Listener:
                    var listener = Listener.Parser.ParseFrom(any.Value);
                    (message, name, references, secrets) = (listener, listener.Name, RouteNamesOf(listener), SecretNamesOf(listener));
                    break;
                case XdsTypeUrls.Secret:
                    var secret = Secret.Parser.ParseFrom(any.Value);
                    (message, name, references) = (secret, secret.Name, []);
                    break;
                case XdsTypeUrls.RouteConfiguration:
                    var route = RouteConfiguration.Parser.ParseFrom(any.Value);
                    (message, name, references) = (route, route.Name, []);
                    break;
                case XdsTypeUrls.Cluster:
                    var cluster = Cluster.Parser.ParseFrom(any.Value);
                    (message, name) = (cluster, cluster.Name);
                    var eds = EdsNameOf(cluster);
                    references = eds is null ? [] : [eds];
                    break;
                case XdsTypeUrls.ClusterLoadAssignment:
                    var assignment = ClusterLoadAssignment.Parser.ParseFrom(any.Value);
                    (message, name, references) = (assignment, assignment.ClusterName, []);
                    break;
                default:
                    throw new InvalidDataException($"resource type '{typeUrl}' is not supported by this client");
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"resource {(string.IsNullOrEmpty(declaredName) ? "" : $"'{declaredName}' ")}of type '{typeUrl}' does not parse: {e.Message}");
        }

        if (string.IsNullOrEmpty(name))
        {
            throw new InvalidDataException($"resource of type '{typeUrl}' has no name");
        }

        if (!string.IsNullOrEmpty(declaredName) && declaredName != name)
        {
            throw new InvalidDataException($"resource declared as '{declaredName}' is named '{name}'");
        }

        return new AdsEntry(name, message, version, references) { SecretReferences = secrets };
    }

    /// <summary>The secrets the listener's TLS contexts ask for over ADS (<c>sds_config: { ads: {} }</c>).</summary>
    public static IReadOnlyList<string> SecretNamesOf(Listener listener)
    {
        List<string>? names = null;
        foreach (var chain in listener.FilterChains)
        {
            AddSecrets(listener.Name, chain, ref names);
        }

        if (listener.DefaultFilterChain is { } defaultChain)
        {
            AddSecrets(listener.Name, defaultChain, ref names);
        }

        return (IReadOnlyList<string>?)names ?? [];
    }

    private static void AddSecrets(string listenerName, FilterChain chain, ref List<string>? names)
    {
        if (chain.TransportSocket?.TypedConfig is not { } config || config.TypeUrl != DownstreamTlsContextTypeUrl)
        {
            return;
        }

        DownstreamTlsContext context;
        try
        {
            context = DownstreamTlsContext.Parser.ParseFrom(config.Value);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"listener '{listenerName}': DownstreamTlsContext does not parse: {e.Message}");
        }

        if (context.CommonTlsContext is not { } common)
        {
            return;
        }

        foreach (var sds in common.TlsCertificateSdsSecretConfigs)
        {
            AddSecret(sds, ref names);
        }

        if (common.ValidationContextSdsSecretConfig is { } validation)
        {
            AddSecret(validation, ref names);
        }
    }

    private static void AddSecret(SdsSecretConfig sds, ref List<string>? names)
    {
        // Without sds_config the secret is a static one from the bootstrap.
        if (sds.SdsConfig?.Ads is not null && sds.Name.Length > 0 && !(names ??= []).Contains(sds.Name))
        {
            names.Add(sds.Name);
        }
    }

    /// <summary>The RDS names an HTTP connection manager in the listener asks for.</summary>
    public static IReadOnlyList<string> RouteNamesOf(Listener listener)
    {
        var names = new List<string>();
        foreach (var chain in listener.FilterChains)
        {
            AddFromChain(listener.Name, chain, names);
        }

        if (listener.DefaultFilterChain is { } defaultChain)
        {
            AddFromChain(listener.Name, defaultChain, names);
        }

        if (listener.ApiListener?.ApiListener_ is { } api && api.TypeUrl == HttpConnectionManagerTypeUrl)
        {
            AddFromHcm(listener.Name, api, names);
        }

        return names;
    }

    /// <summary>The ClusterLoadAssignment name an EDS cluster needs, or null for other cluster types.</summary>
    public static string? EdsNameOf(Cluster cluster)
    {
        if (cluster.ClusterDiscoveryTypeCase != Cluster.ClusterDiscoveryTypeOneofCase.Type || cluster.Type != Cluster.Types.DiscoveryType.Eds)
        {
            return null;
        }

        var serviceName = cluster.EdsClusterConfig?.ServiceName;
        return string.IsNullOrEmpty(serviceName) ? cluster.Name : serviceName;
    }

    private static void AddFromChain(string listenerName, FilterChain chain, List<string> names)
    {
        foreach (var filter in chain.Filters)
        {
            if (filter.TypedConfig is { } config && config.TypeUrl == HttpConnectionManagerTypeUrl)
            {
                AddFromHcm(listenerName, config, names);
            }
        }
    }

    private static void AddFromHcm(string listenerName, Any config, List<string> names)
    {
        Hcm hcm;
        try
        {
            hcm = Hcm.Parser.ParseFrom(config.Value);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"listener '{listenerName}': HttpConnectionManager does not parse: {e.Message}");
        }

        if (hcm.RouteSpecifierCase == Hcm.RouteSpecifierOneofCase.Rds)
        {
            var name = hcm.Rds.RouteConfigName;
            if (string.IsNullOrEmpty(name))
            {
                throw new InvalidDataException($"listener '{listenerName}': rds.route_config_name is empty");
            }

            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }
    }
}
