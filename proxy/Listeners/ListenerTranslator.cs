using System.Net;
using Envoy.Config.Listener.V3;
using Herald.Proxy.Config;
using Herald.Proxy.Http;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Tcp;
using Herald.Proxy.Tls;
using SecretPb = Envoy.Extensions.TransportSockets.Tls.V3.Secret;
using HcmProto = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using TcpProxyProto = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace Herald.Proxy.Listeners;

/// <summary>Envoy Listener -> <see cref="ListenerConfig"/>.</summary>
internal static class ListenerTranslator
{
    public const string HttpConnectionManagerName = "envoy.filters.network.http_connection_manager";
    public const string TcpProxyName = "envoy.filters.network.tcp_proxy";
    private const string TypePrefix = "type.googleapis.com/";

    public const string OriginalDstFilterName = "envoy.filters.listener.original_dst";

    private static readonly string[] AcceptedListenerFilters =
    [
        "envoy.filters.listener.tls_inspector",
        "envoy.filters.listener.http_inspector",
        OriginalDstFilterName,
    ];

    public static ListenerConfig Translate(Listener listener, string path, StatsStore stats) => Translate(listener, path, stats, null);

    public static ListenerConfig Translate(Listener listener, string path, StatsStore stats, Func<string, Envoy.Config.Route.V3.RouteConfiguration?>? routes) =>
        Translate(listener, path, stats, routes, null);

    /// <param name="secrets">SDS secrets by name, for chains whose TLS context refers to one.</param>
    public static ListenerConfig Translate(
        Listener listener, string path, StatsStore stats, Func<string, Envoy.Config.Route.V3.RouteConfiguration?>? routes, Func<string, SecretPb?>? secrets)
    {
        FieldPolicy.RequireOnly(
            listener,
            path,
            "name",
            "address",
            "filter_chains",
            "default_filter_chain",
            "listener_filters",
            "listener_filters_timeout",
            "continue_on_listener_filters_timeout",
            "traffic_direction",
            "stat_prefix",
            "transparent");

        if (string.IsNullOrEmpty(listener.Name))
        {
            throw new ConfigException(FieldPolicy.Join(path, "name"), "a listener needs a name", "Give the listener a unique name");
        }

        var address = TranslateAddress(listener.Address, FieldPolicy.Join(path, "address"));

        var useOriginalDestination = false;
        foreach (var (filter, i) in listener.ListenerFilters.Select((f, i) => (f, i)))
        {
            var filterPath = FieldPolicy.Index(path, "listener_filters", i);
            FieldPolicy.RequireOnly(filter, filterPath, "name", "typed_config");
            var isOriginalDst = filter.TypedConfig is null
                ? filter.Name == OriginalDstFilterName
                : filter.TypedConfig.TypeUrl.EndsWith(".original_dst.v3.OriginalDst", StringComparison.Ordinal);
            useOriginalDestination |= isOriginalDst;
            var known = Array.IndexOf(AcceptedListenerFilters, filter.Name) >= 0
                || (filter.TypedConfig is not null && (filter.TypedConfig.TypeUrl.EndsWith(".tls_inspector.v3.TlsInspector", StringComparison.Ordinal)
                    || filter.TypedConfig.TypeUrl.EndsWith(".http_inspector.v3.HttpInspector", StringComparison.Ordinal)
                    || isOriginalDst));
            if (!known)
            {
                throw new ConfigException(
                    filterPath,
                    $"listener filter '{filter.Name}' is not supported by Herald",
                    "Herald inspects TLS and HTTP by itself; remove the filter");
            }

            if (filter.TypedConfig is { } typed)
            {
                // Herald's inspection has no knobs: any setting in these filters would be ignored, so it is refused.
                var typedPath = FieldPolicy.Join(filterPath, "typed_config");
                Google.Protobuf.IMessage settings = typed.TypeUrl.EndsWith(".tls_inspector.v3.TlsInspector", StringComparison.Ordinal)
                    ? typed.Unpack<global::Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspector>()
                    : typed.TypeUrl.EndsWith(".http_inspector.v3.HttpInspector", StringComparison.Ordinal)
                        ? typed.Unpack<global::Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector>()
                        : isOriginalDst
                            ? typed.Unpack<global::Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst>()
                            : throw new ConfigException(typedPath, $"'{typed.TypeUrl}' does not match filter '{filter.Name}'", "Use the filter's own typed_config type");
                FieldPolicy.RequireOnly(settings, typedPath);
            }
        }

        if (listener.FilterChains.Count == 0 && listener.DefaultFilterChain is null)
        {
            throw new ConfigException(FieldPolicy.Join(path, "filter_chains"), "a listener needs at least one filter chain", "Add a filter chain with http_connection_manager or tcp_proxy");
        }

        var chains = new List<FilterChainConfig>(listener.FilterChains.Count);
        for (var i = 0; i < listener.FilterChains.Count; i++)
        {
            chains.Add(TranslateChain(listener.FilterChains[i], FieldPolicy.Index(path, "filter_chains", i), stats, routes, secrets));
        }

        var defaultChain = listener.DefaultFilterChain is null
            ? null
            : TranslateChain(listener.DefaultFilterChain, FieldPolicy.Join(path, "default_filter_chain"), stats, routes, secrets);

        var needsSniffing = chains.Count > 1 || defaultChain is not null;
        foreach (var chain in chains)
        {
            needsSniffing |= chain.Match.NeedsSniffing || chain.Http?.Codec == CodecType.Auto;
        }

        needsSniffing |= defaultChain?.Http?.Codec == CodecType.Auto;

        return new ListenerConfig
        {
            Name = listener.Name,
            Address = address,
            FilterChains = chains,
            DefaultFilterChain = defaultChain,
            SniffTimeout = listener.ListenerFiltersTimeout?.ToTimeSpan() is { } timeout && timeout > TimeSpan.Zero
                ? timeout
                : ServesSilentClients(chains, defaultChain) ? TimeSpan.FromMilliseconds(100) : ClientFirstSniffTimeout,
            NeedsSniffing = needsSniffing,
            UseOriginalDestination = useOriginalDestination,
            Transparent = listener.Transparent ?? false,
            Source = listener,
        };
    }

    /// <summary>
    /// Envoy's default listener_filters_timeout, used when no chain could serve a client that sends
    /// nothing (every chain wants SNI, ALPN or TLS): waiting longer then stalls nothing, and a slow
    /// ClientHello on a loaded machine is not mistaken for a server-first protocol.
    /// </summary>
    public static readonly TimeSpan ClientFirstSniffTimeout = TimeSpan.FromSeconds(15);

    /// <summary>True when a connection whose client sends nothing still has a chain (a server-first protocol could be served).</summary>
    private static bool ServesSilentClients(List<FilterChainConfig> chains, FilterChainConfig? defaultChain)
    {
        if (defaultChain is not null)
        {
            return true;
        }

        foreach (var chain in chains)
        {
            var match = chain.Match;
            if (match.ServerNames.Count == 0 && match.ApplicationProtocols.Count == 0 && match.TransportProtocol != "tls" && chain.Tls is null)
            {
                return true;
            }
        }

        return false;
    }

    public static IPEndPoint TranslateAddress(Envoy.Config.Core.V3.Address? address, string path)
    {
        if (address?.SocketAddress is null)
        {
            throw new ConfigException(path, "a socket_address is required", "Set address.socket_address.address and port_value");
        }

        FieldPolicy.RequireOnly(address, path, "socket_address");
        var socket = address.SocketAddress;
        var socketPath = FieldPolicy.Join(path, "socket_address");
        FieldPolicy.RequireOnly(socket, socketPath, "address", "port_value", "protocol");
        if (socket.Protocol != Envoy.Config.Core.V3.SocketAddress.Types.Protocol.Tcp)
        {
            throw new ConfigException(FieldPolicy.Join(socketPath, "protocol"), "only TCP listeners are supported", "Remove protocol or set TCP");
        }

        if (!IPAddress.TryParse(socket.Address, out var ip))
        {
            throw new ConfigException(FieldPolicy.Join(socketPath, "address"), $"'{socket.Address}' is not an IP address", "Use an IP literal such as 0.0.0.0 or 127.0.0.1");
        }

        if (socket.PortValue > 65535)
        {
            throw new ConfigException(FieldPolicy.Join(socketPath, "port_value"), $"port {socket.PortValue} is out of range", "Use a port from 0 to 65535");
        }

        return new IPEndPoint(ip, (int)socket.PortValue);
    }

    private static FilterChainConfig TranslateChain(
        FilterChain chain, string path, StatsStore stats, Func<string, Envoy.Config.Route.V3.RouteConfiguration?>? routes, Func<string, SecretPb?>? secrets)
    {
        FieldPolicy.RequireOnly(chain, path, "filter_chain_match", "filters", "name", "transport_socket");
        var match = TranslateMatch(chain.FilterChainMatch, FieldPolicy.Join(path, "filter_chain_match"));
        var tls = TlsContextTranslator.TranslateDownstream(chain.TransportSocket, path, secrets, TimeProvider.System);
        if (chain.Filters.Count != 1)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "filters"),
                $"a filter chain needs exactly one network filter, found {chain.Filters.Count}",
                $"Use one {HttpConnectionManagerName} or {TcpProxyName} filter");
        }

        var filter = chain.Filters[0];
        var filterPath = FieldPolicy.Index(path, "filters", 0);
        FieldPolicy.RequireOnly(filter, filterPath, "name", "typed_config");
        if (filter.TypedConfig is null)
        {
            throw new ConfigException(FieldPolicy.Join(filterPath, "typed_config"), $"network filter '{filter.Name}' has no typed_config", "Add typed_config with its @type");
        }

        var typeUrl = filter.TypedConfig.TypeUrl;
        var typePath = FieldPolicy.Join(filterPath, "typed_config");
        if (typeUrl == TypePrefix + HcmProto.Descriptor.FullName)
        {
            var http = HttpConnectionManagerTranslator.Translate(filter.TypedConfig.Unpack<HcmProto>(), typePath, stats, routes);
            return new FilterChainConfig { Name = chain.Name, Match = match, Http = http, Tls = tls };
        }

        if (typeUrl == TypePrefix + TcpProxyProto.Descriptor.FullName)
        {
            var tcp = TcpProxyTranslator.Translate(filter.TypedConfig.Unpack<TcpProxyProto>(), typePath, stats);
            return new FilterChainConfig { Name = chain.Name, Match = match, Tcp = tcp, Tls = tls };
        }

        throw new ConfigException(
            filterPath,
            $"network filter '{filter.Name}' ({typeUrl}) is not supported by Herald",
            $"Use {HttpConnectionManagerName} or {TcpProxyName}");
    }

    private static FilterChainMatchConfig TranslateMatch(FilterChainMatch? match, string path)
    {
        if (match is null)
        {
            return FilterChainMatchConfig.Any;
        }

        FieldPolicy.RequireOnly(match, path, "destination_port", "prefix_ranges", "server_names", "transport_protocol", "application_protocols");
        var ranges = new List<CidrRange>(match.PrefixRanges.Count);
        for (var i = 0; i < match.PrefixRanges.Count; i++)
        {
            ranges.Add(TranslateCidr(match.PrefixRanges[i], FieldPolicy.Index(path, "prefix_ranges", i)));
        }

        if (match.TransportProtocol is not ("" or "tls" or "raw_buffer"))
        {
            throw new ConfigException(FieldPolicy.Join(path, "transport_protocol"), $"unknown transport protocol '{match.TransportProtocol}'", "Use 'tls' or 'raw_buffer'");
        }

        return new FilterChainMatchConfig
        {
            DestinationPort = match.DestinationPort is null ? null : (int)match.DestinationPort.Value,
            PrefixRanges = ranges,
            ServerNames = [.. match.ServerNames],
            TransportProtocol = match.TransportProtocol,
            ApplicationProtocols = [.. match.ApplicationProtocols],
        };
    }

    private static CidrRange TranslateCidr(Envoy.Config.Core.V3.CidrRange range, string path)
    {
        FieldPolicy.RequireOnly(range, path, "address_prefix", "prefix_len");
        if (!IPAddress.TryParse(range.AddressPrefix, out var address))
        {
            throw new ConfigException(FieldPolicy.Join(path, "address_prefix"), $"'{range.AddressPrefix}' is not an IP address", "Use an address such as 10.0.0.0 or fd00::");
        }

        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        var bits = plain.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32u : 128u;
        var length = range.PrefixLen ?? 0;
        if (length > bits)
        {
            throw new ConfigException(FieldPolicy.Join(path, "prefix_len"), $"prefix length {length} is longer than the address ({bits} bits)", $"Use a prefix_len from 0 to {bits}");
        }

        return new CidrRange(plain, (int)length);
    }
}
