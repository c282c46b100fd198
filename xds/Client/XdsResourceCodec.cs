using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace Herald.Xds.Client;

/// <summary>One decoded resource, with the names of the resources it depends on.</summary>
internal sealed record AdsEntry(string Name, IMessage Message, string Version, IReadOnlyList<string> References);

/// <summary>
/// Decodes the resource types the ADS client subscribes to and finds what each depends on
/// (listeners name route configurations, EDS clusters name load assignments).
/// </summary>
internal static class XdsResourceCodec
{
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
        try
        {
            switch (typeUrl)
            {
                case XdsTypeUrls.Listener:
                    var listener = Listener.Parser.ParseFrom(any.Value);
                    (message, name, references) = (listener, listener.Name, RouteNamesOf(listener));
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

        return new AdsEntry(name, message, version, references);
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
