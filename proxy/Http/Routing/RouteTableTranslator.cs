using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Herald.Proxy.Config;
using Herald.Proxy.Http.Retry;
using CorePb = Envoy.Config.Core.V3;
using MatcherPb = Envoy.Type.Matcher.V3;
using Pb = Envoy.Config.Route.V3;

namespace Herald.Proxy.Http.Routing;

// Envoy still honours these deprecated fields (exact_match, append, total_weight, google_re2), so Herald does too.
#pragma warning disable CS0612

/// <summary>Envoy v3 RouteConfiguration -> validated <see cref="RouteTable"/>; rejects what Herald does not honour.</summary>
internal static class RouteTableTranslator
{
    /// <summary>Envoy's default max_direct_response_body_size_bytes.</summary>
    private const int MaxDirectResponseBodyBytes = 4096;

    private static readonly SearchValues<char> NotInHost = SearchValues.Create(" \r\n\0/?#");
    private static readonly SearchValues<char> NotInPath = SearchValues.Create(" \r\n\0");
    private static readonly SearchValues<char> NotInValue = SearchValues.Create("\r\n\0");

    public static RouteTable Translate(Pb.RouteConfiguration config, string path)
    {
        FieldPolicy.RequireOnly(
            config, path, "name", "virtual_hosts", "request_headers_to_add", "request_headers_to_remove",
            "response_headers_to_add", "response_headers_to_remove", "validate_clusters");

        var request = TranslateHeaders(config.RequestHeadersToAdd, config.RequestHeadersToRemove, path, "request_headers_to_add", "request_headers_to_remove");
        var response = TranslateHeaders(config.ResponseHeadersToAdd, config.ResponseHeadersToRemove, path, "response_headers_to_add", "response_headers_to_remove");
        var clusters = new HashSet<string>(StringComparer.Ordinal);
        var hosts = new List<VirtualHost>(config.VirtualHosts.Count);
        for (var i = 0; i < config.VirtualHosts.Count; i++)
        {
            hosts.Add(TranslateVirtualHost(config.VirtualHosts[i], FieldPolicy.Index(path, "virtual_hosts", i), request, response, clusters));
        }

        var index = VirtualHostIndex.Build(hosts, (h, d) => throw new ConfigException(
            FieldPolicy.Index(FieldPolicy.Index(path, "virtual_hosts", h), "domains", d),
            $"domain '{hosts[h].Domains[d]}' is already claimed by a virtual host",
            "List each domain once across all virtual hosts of a route configuration"));
        return new RouteTable(config.Name, hosts, index, clusters, config.ValidateClusters);
    }

    private static VirtualHost TranslateVirtualHost(Pb.VirtualHost config, string path, HeaderLevel configRequest, HeaderLevel configResponse, HashSet<string> clusters)
    {
        FieldPolicy.RequireOnly(
            config, path, "name", "domains", "routes", "request_headers_to_add", "request_headers_to_remove",
            "response_headers_to_add", "response_headers_to_remove", "typed_per_filter_config", "retry_policy", "require_tls",
            "include_request_attempt_count", "include_attempt_count_in_response");
        if (config.Name.Length == 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "name"), "a virtual host needs a name", "Set name");
        }

        if (config.Domains.Count == 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "domains"), "a virtual host needs at least one domain", "List its domains, or \"*\" to match any host");
        }

        var domains = new string[config.Domains.Count];
        for (var i = 0; i < domains.Length; i++)
        {
            domains[i] = ValidateDomain(config.Domains[i], FieldPolicy.Index(path, "domains", i));
        }

        var host = new VirtualHost(config.Name, domains)
        {
            FilterOverrides = Filters.HttpFilterOverrides.Translate(config.TypedPerFilterConfig, FieldPolicy.Join(path, "typed_per_filter_config")),
            IncludeRequestAttemptCount = config.IncludeRequestAttemptCount,
            IncludeAttemptCountInResponse = config.IncludeAttemptCountInResponse,
        };

        // Herald writes x-envoy-attempt-count itself when asked: one arriving from the other side is dropped.
        var requestRemoves = WithAttemptCount(config.RequestHeadersToRemove, config.IncludeRequestAttemptCount);
        var responseRemoves = WithAttemptCount(config.ResponseHeadersToRemove, config.IncludeAttemptCountInResponse);
        var request = TranslateHeaders(config.RequestHeadersToAdd, requestRemoves, path, "request_headers_to_add", "request_headers_to_remove");
        var response = TranslateHeaders(config.ResponseHeadersToAdd, responseRemoves, path, "response_headers_to_add", "response_headers_to_remove");
        // Envoy: a virtual host's retry_policy applies to each of its routes that has none of its own.
        var hostRetry = config.RetryPolicy is null ? null : RetryPolicyTranslator.Translate(config.RetryPolicy, FieldPolicy.Join(path, "retry_policy"));
        var routes = new Route[config.Routes.Count];
        for (var i = 0; i < routes.Length; i++)
        {
            routes[i] = TranslateRoute(
                config.Routes[i], FieldPolicy.Index(path, "routes", i), host,
                [request, configRequest], [response, configResponse], clusters, hostRetry);
        }

        host.SetRoutes(routes);
        switch (config.RequireTls)
        {
            case Pb.VirtualHost.Types.TlsRequirementType.None:
                break;
            case Pb.VirtualHost.Types.TlsRequirementType.All:
                // Envoy answers a cleartext request with 301 to the same URL over https.
                var everything = new RouteMatcher(RouteMatcher.PathKind.Prefix, "/"u8.ToArray(), caseSensitive: true, null, [], []);
                var redirect = new RedirectAction(301, "https", null, 0, null, null, stripQuery: false);
                host.SetTlsRedirect(new Route(host, "require_tls", everything, redirect, HeaderMutations.Empty, HeaderMutations.Empty));
                break;
            default:
                throw new ConfigException(
                    FieldPolicy.Join(path, "require_tls"),
                    $"require_tls {config.RequireTls} is not supported: Herald does not classify requests as internal",
                    "Use ALL (every cleartext request is redirected to https) or NONE");
        }

        return host;
    }

    private static RepeatedField<string> WithAttemptCount(RepeatedField<string> removes, bool include)
    {
        if (!include)
        {
            return removes;
        }

        var copy = new RepeatedField<string> { removes };
        copy.Add(AttemptCountHeader);
        return copy;
    }

    /// <summary>Envoy's header with the number of the try (request) or of tries made (response).</summary>
    internal const string AttemptCountHeader = "x-envoy-attempt-count";

    private static string ValidateDomain(string domain, string path)
    {
        var lower = domain.ToLowerInvariant();
        if (lower.Length == 0)
        {
            throw new ConfigException(path, "the domain is empty", "Remove it or write a host name");
        }

        var star = lower.IndexOf('*', StringComparison.Ordinal);
        if (star >= 0 && (lower.IndexOf('*', star + 1) >= 0 || (star != 0 && star != lower.Length - 1)))
        {
            throw new ConfigException(path, $"domain '{domain}' has a wildcard other than one '*' at its start or end", "Write '*.example.com', 'api.*' or '*'");
        }

        foreach (var c in lower)
        {
            if (c <= ' ' || c >= 0x7f || c == '/')
            {
                throw new ConfigException(path, $"domain '{domain}' contains a character not allowed in a host", "Write host[:port] in ASCII");
            }
        }

        return lower;
    }

    private static Route TranslateRoute(Pb.Route config, string path, VirtualHost host, HeaderLevel[] outerRequest, HeaderLevel[] outerResponse, HashSet<string> clusters, RetryPolicy? hostRetry)
    {
        FieldPolicy.RequireOnly(
            config, path, "name", "match", "route", "redirect", "direct_response", "request_headers_to_add",
            "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove", "typed_per_filter_config");
        if (config.Match is null)
        {
            throw new ConfigException(FieldPolicy.Join(path, "match"), "a route needs a match", "Set match, for example prefix: \"/\"");
        }

        var matcher = TranslateMatch(config.Match, FieldPolicy.Join(path, "match"));
        RouteAction action = config.ActionCase switch
        {
            Pb.Route.ActionOneofCase.Route_ => TranslateClusterAction(config.Route_, FieldPolicy.Join(path, "route"), matcher, clusters, hostRetry),
            Pb.Route.ActionOneofCase.Redirect => TranslateRedirect(config.Redirect, FieldPolicy.Join(path, "redirect"), matcher),
            Pb.Route.ActionOneofCase.DirectResponse => TranslateDirectResponse(config.DirectResponse, FieldPolicy.Join(path, "direct_response")),
            _ => throw new ConfigException(path, "the route has no action", "Set one of route, redirect or direct_response"),
        };

        var request = TranslateHeaders(config.RequestHeadersToAdd, config.RequestHeadersToRemove, path, "request_headers_to_add", "request_headers_to_remove");
        var response = TranslateHeaders(config.ResponseHeadersToAdd, config.ResponseHeadersToRemove, path, "response_headers_to_add", "response_headers_to_remove");
        return new Route(host, config.Name, matcher, action, Merge(request, outerRequest), Merge(response, outerResponse))
        {
            FilterOverrides = Filters.HttpFilterOverrides.Translate(config.TypedPerFilterConfig, FieldPolicy.Join(path, "typed_per_filter_config")),
        };
    }

    private static RouteMatcher TranslateMatch(Pb.RouteMatch config, string path)
    {
        FieldPolicy.RequireOnly(
            config, path, "prefix", "path", "safe_regex", "path_separated_prefix", "case_sensitive", "headers", "query_parameters");
        var caseSensitive = config.CaseSensitive ?? true;
        RouteMatcher.PathKind kind;
        var pattern = string.Empty;
        Regex? regex = null;
        switch (config.PathSpecifierCase)
        {
            case Pb.RouteMatch.PathSpecifierOneofCase.Prefix:
                kind = RouteMatcher.PathKind.Prefix;
                pattern = config.Prefix;
                break;
            case Pb.RouteMatch.PathSpecifierOneofCase.Path:
                kind = RouteMatcher.PathKind.Exact;
                pattern = config.Path;
                break;
            case Pb.RouteMatch.PathSpecifierOneofCase.SafeRegex:
                kind = RouteMatcher.PathKind.Regex;
                regex = TranslateRegex(config.SafeRegex, FieldPolicy.Join(path, "safe_regex"), fullMatch: true);
                break;
            case Pb.RouteMatch.PathSpecifierOneofCase.PathSeparatedPrefix:
                kind = RouteMatcher.PathKind.SeparatedPrefix;
                pattern = config.PathSeparatedPrefix;
                if (pattern.Length == 0 || pattern.AsSpan().IndexOfAny('?', '#') >= 0 || pattern.EndsWith('/'))
                {
                    throw new ConfigException(
                        FieldPolicy.Join(path, "path_separated_prefix"),
                        $"'{pattern}' is not a valid path_separated_prefix",
                        "Write a non-empty path without '?' or '#' that does not end in '/'");
                }

                break;
            default:
                throw new ConfigException(path, "the match has no path rule", "Set one of prefix, path, safe_regex or path_separated_prefix");
        }

        var headers = new HeaderCondition[config.Headers.Count];
        for (var i = 0; i < headers.Length; i++)
        {
            headers[i] = TranslateHeaderMatcher(config.Headers[i], FieldPolicy.Index(path, "headers", i));
        }

        var query = new QueryCondition[config.QueryParameters.Count];
        for (var i = 0; i < query.Length; i++)
        {
            query[i] = TranslateQueryMatcher(config.QueryParameters[i], FieldPolicy.Index(path, "query_parameters", i));
        }

        return new RouteMatcher(kind, Encoding.UTF8.GetBytes(pattern), caseSensitive, regex, headers, query);
    }

    internal static HeaderCondition TranslateHeaderMatcher(Pb.HeaderMatcher config, string path)
    {
        FieldPolicy.RequireOnly(
            config, path, "name", "exact_match", "safe_regex_match", "present_match", "prefix_match", "suffix_match",
            "contains_match", "string_match", "invert_match", "treat_missing_header_as_empty");
        var selector = Selector(config.Name, FieldPolicy.Join(path, "name"));
        ByteStringMatcher? matcher = null;
        var present = true;
        switch (config.HeaderMatchSpecifierCase)
        {
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.ExactMatch:
                matcher = ByteStringMatcher.Create(ByteStringMatcher.Kind.Exact, config.ExactMatch, ignoreCase: false);
                break;
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.PrefixMatch:
                matcher = ByteStringMatcher.Create(ByteStringMatcher.Kind.Prefix, NonEmpty(config.PrefixMatch, FieldPolicy.Join(path, "prefix_match")), ignoreCase: false);
                break;
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.SuffixMatch:
                matcher = ByteStringMatcher.Create(ByteStringMatcher.Kind.Suffix, NonEmpty(config.SuffixMatch, FieldPolicy.Join(path, "suffix_match")), ignoreCase: false);
                break;
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.ContainsMatch:
                matcher = ByteStringMatcher.Create(ByteStringMatcher.Kind.Contains, NonEmpty(config.ContainsMatch, FieldPolicy.Join(path, "contains_match")), ignoreCase: false);
                break;
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.SafeRegexMatch:
                matcher = ByteStringMatcher.Regex(TranslateRegex(config.SafeRegexMatch, FieldPolicy.Join(path, "safe_regex_match"), fullMatch: true));
                break;
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.StringMatch:
                matcher = TranslateStringMatcher(config.StringMatch, FieldPolicy.Join(path, "string_match"));
                break;
            case Pb.HeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch:
                present = config.PresentMatch;
                break;
            default:
                // Envoy: no specifier means the header must be present.
                break;
        }

        return new HeaderCondition(selector, matcher, present, config.InvertMatch, config.TreatMissingHeaderAsEmpty);
    }

    private static QueryCondition TranslateQueryMatcher(Pb.QueryParameterMatcher config, string path)
    {
        FieldPolicy.RequireOnly(config, path, "name", "string_match", "present_match");
        var name = Encoding.UTF8.GetBytes(NonEmpty(config.Name, FieldPolicy.Join(path, "name")));
        return config.QueryParameterMatchSpecifierCase switch
        {
            Pb.QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.StringMatch =>
                new QueryCondition(name, TranslateStringMatcher(config.StringMatch, FieldPolicy.Join(path, "string_match"))),
            Pb.QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.PresentMatch =>
                new QueryCondition(name, null, neverMatches: !config.PresentMatch),
            _ => new QueryCondition(name, null),
        };
    }

    private static ByteStringMatcher TranslateStringMatcher(MatcherPb.StringMatcher config, string path)
    {
        FieldPolicy.RequireOnly(config, path, "exact", "prefix", "suffix", "safe_regex", "contains", "ignore_case");
        var ignoreCase = config.IgnoreCase;
        return config.MatchPatternCase switch
        {
            MatcherPb.StringMatcher.MatchPatternOneofCase.Exact =>
                ByteStringMatcher.Create(ByteStringMatcher.Kind.Exact, config.Exact, ignoreCase),
            MatcherPb.StringMatcher.MatchPatternOneofCase.Prefix =>
                ByteStringMatcher.Create(ByteStringMatcher.Kind.Prefix, NonEmpty(config.Prefix, FieldPolicy.Join(path, "prefix")), ignoreCase),
            MatcherPb.StringMatcher.MatchPatternOneofCase.Suffix =>
                ByteStringMatcher.Create(ByteStringMatcher.Kind.Suffix, NonEmpty(config.Suffix, FieldPolicy.Join(path, "suffix")), ignoreCase),
            MatcherPb.StringMatcher.MatchPatternOneofCase.Contains =>
                ByteStringMatcher.Create(ByteStringMatcher.Kind.Contains, NonEmpty(config.Contains, FieldPolicy.Join(path, "contains")), ignoreCase),
            MatcherPb.StringMatcher.MatchPatternOneofCase.SafeRegex =>
                ByteStringMatcher.Regex(TranslateRegex(config.SafeRegex, FieldPolicy.Join(path, "safe_regex"), fullMatch: true)),
            _ => throw new ConfigException(path, "the string matcher has no pattern", "Set one of exact, prefix, suffix, contains or safe_regex"),
        };
    }

    private static Regex TranslateRegex(MatcherPb.RegexMatcher? config, string path, bool fullMatch)
    {
        if (config is null)
        {
            throw new ConfigException(path, "the regex matcher is missing", "Set regex");
        }

        FieldPolicy.RequireOnly(config, path, "google_re2", "regex");
        if (config.GoogleRe2 is not null)
        {
            FieldPolicy.RequireOnly(config.GoogleRe2, FieldPolicy.Join(path, "google_re2"));
        }

        var regexPath = FieldPolicy.Join(path, "regex");
        return fullMatch ? RegexBytes.CompileFullMatch(config.Regex, regexPath) : RegexBytes.CompileSearch(config.Regex, regexPath);
    }

    private static PathRewriter TranslateRegexRewrite(MatcherPb.RegexMatchAndSubstitute config, string path, RouteMatcher matcher)
    {
        FieldPolicy.RequireOnly(config, path, "pattern", "substitution");
        var regex = TranslateRegex(config.Pattern, FieldPolicy.Join(path, "pattern"), fullMatch: false);
        var substitution = RegexBytes.ToDotNetSubstitution(config.Substitution, FieldPolicy.Join(path, "substitution"));
        return PathRewriter.Regex(matcher, regex, substitution);
    }

    private static PathRewriter TranslatePrefixRewrite(string prefix, string path, RouteMatcher matcher)
    {
        if (matcher.Kind == RouteMatcher.PathKind.Regex)
        {
            throw new ConfigException(path, "prefix_rewrite needs a prefix, path or path_separated_prefix match; this route matches a safe_regex", "Use regex_rewrite instead");
        }

        return PathRewriter.Prefix(matcher, prefix);
    }

    private static ClusterAction TranslateClusterAction(Pb.RouteAction config, string path, RouteMatcher matcher, HashSet<string> clusters, RetryPolicy? hostRetry)
    {
        FieldPolicy.RequireOnly(
            config, path, "cluster", "weighted_clusters", "prefix_rewrite", "regex_rewrite", "host_rewrite_literal",
            "auto_host_rewrite", "timeout", "hash_policy", "upgrade_configs", "retry_policy",
            "idle_timeout", "max_stream_duration");

        string? cluster = null;
        IReadOnlyList<WeightedCluster> weighted = [];
        switch (config.ClusterSpecifierCase)
        {
            case Pb.RouteAction.ClusterSpecifierOneofCase.Cluster:
                cluster = NonEmpty(config.Cluster, FieldPolicy.Join(path, "cluster"));
                clusters.Add(cluster);
                break;
            case Pb.RouteAction.ClusterSpecifierOneofCase.WeightedClusters:
                weighted = TranslateWeightedClusters(config.WeightedClusters, FieldPolicy.Join(path, "weighted_clusters"));
                foreach (var entry in weighted)
                {
                    clusters.Add(entry.Name);
                }

                break;
            default:
                throw new ConfigException(path, "the route action names no cluster", "Set cluster or weighted_clusters");
        }

        PathRewriter? rewriter = null;
        if (config.PrefixRewrite.Length > 0 && config.RegexRewrite is not null)
        {
            throw new ConfigException(FieldPolicy.Join(path, "regex_rewrite"), "prefix_rewrite and regex_rewrite are both set", "Keep one of them");
        }

        if (config.PrefixRewrite.Length > 0)
        {
            rewriter = TranslatePrefixRewrite(config.PrefixRewrite, FieldPolicy.Join(path, "prefix_rewrite"), matcher);
        }
        else if (config.RegexRewrite is not null)
        {
            rewriter = TranslateRegexRewrite(config.RegexRewrite, FieldPolicy.Join(path, "regex_rewrite"), matcher);
        }

        string? hostLiteral = null;
        if (config.HostRewriteSpecifierCase == Pb.RouteAction.HostRewriteSpecifierOneofCase.HostRewriteLiteral)
        {
            hostLiteral = NonEmpty(config.HostRewriteLiteral, FieldPolicy.Join(path, "host_rewrite_literal"));
            if (hostLiteral.AsSpan().IndexOfAny(NotInHost) >= 0)
            {
                throw new ConfigException(FieldPolicy.Join(path, "host_rewrite_literal"), $"'{hostLiteral}' is not a valid host", "Write host[:port]");
            }
        }

        var autoHost = config.HostRewriteSpecifierCase == Pb.RouteAction.HostRewriteSpecifierOneofCase.AutoHostRewrite && config.AutoHostRewrite == true;

        var timeout = ClusterAction.DefaultTimeout;
        if (config.Timeout is not null)
        {
            timeout = ToTimeSpan(config.Timeout, FieldPolicy.Join(path, "timeout"));
        }

        var policies = new HashPolicy[config.HashPolicy.Count];
        for (var i = 0; i < policies.Length; i++)
        {
            policies[i] = TranslateHashPolicy(config.HashPolicy[i], FieldPolicy.Index(path, "hash_policy", i));
        }

        var allowWebSocket = true;
        for (var i = 0; i < config.UpgradeConfigs.Count; i++)
        {
            var upgrade = config.UpgradeConfigs[i];
            var upgradePath = FieldPolicy.Index(path, "upgrade_configs", i);
            FieldPolicy.RequireOnly(upgrade, upgradePath, "upgrade_type", "enabled");
            if (string.Equals(upgrade.UpgradeType, "websocket", StringComparison.OrdinalIgnoreCase))
            {
                allowWebSocket = upgrade.Enabled != false;
            }
            else if (upgrade.Enabled != false)
            {
                throw new ConfigException(
                    FieldPolicy.Join(upgradePath, "upgrade_type"),
                    $"upgrade type '{upgrade.UpgradeType}' is not supported",
                    "Herald proxies websocket upgrades only; remove this entry");
            }
        }

        return new ClusterAction(cluster, weighted, timeout, hostLiteral, autoHost, rewriter, policies, allowWebSocket)
        {
            RetryPolicy = config.RetryPolicy is null ? hostRetry : RetryPolicyTranslator.Translate(config.RetryPolicy, FieldPolicy.Join(path, "retry_policy")),
            StreamTimeouts = TranslateStreamTimeouts(config, path),
        };
    }

    private static RouteStreamTimeouts? TranslateStreamTimeouts(Pb.RouteAction config, string path)
    {
        if (config.IdleTimeout is null && config.MaxStreamDuration is null)
        {
            return null;
        }

        TimeSpan? idle = config.IdleTimeout is null ? null : ToTimeSpan(config.IdleTimeout, FieldPolicy.Join(path, "idle_timeout"));
        if (config.MaxStreamDuration is not { } duration)
        {
            return new RouteStreamTimeouts { IdleTimeout = idle };
        }

        var durationPath = FieldPolicy.Join(path, "max_stream_duration");
        FieldPolicy.RequireOnly(duration, durationPath, "max_stream_duration", "grpc_timeout_header_max", "grpc_timeout_header_offset");
        if (duration.GrpcTimeoutHeaderOffset is not null && duration.GrpcTimeoutHeaderMax is null)
        {
            throw new ConfigException(
                FieldPolicy.Join(durationPath, "grpc_timeout_header_offset"),
                "grpc_timeout_header_offset has no effect without grpc_timeout_header_max",
                "Set grpc_timeout_header_max (0s for no cap) or remove the offset");
        }

        return new RouteStreamTimeouts
        {
            IdleTimeout = idle,
            MaxStreamDuration = duration.MaxStreamDuration_ is null ? null : ToTimeSpan(duration.MaxStreamDuration_, FieldPolicy.Join(durationPath, "max_stream_duration")),
            GrpcTimeoutHeaderMax = duration.GrpcTimeoutHeaderMax is null ? null : ToTimeSpan(duration.GrpcTimeoutHeaderMax, FieldPolicy.Join(durationPath, "grpc_timeout_header_max")),
            GrpcTimeoutHeaderOffset = duration.GrpcTimeoutHeaderOffset is null ? TimeSpan.Zero : ToTimeSpan(duration.GrpcTimeoutHeaderOffset, FieldPolicy.Join(durationPath, "grpc_timeout_header_offset")),
        };
    }

    private static WeightedCluster[] TranslateWeightedClusters(Pb.WeightedCluster config, string path)
    {
        FieldPolicy.RequireOnly(config, path, "clusters", "total_weight");
        if (config.Clusters.Count == 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "clusters"), "weighted_clusters lists no cluster", "List at least one cluster with a weight");
        }

        var result = new WeightedCluster[config.Clusters.Count];
        ulong total = 0;
        for (var i = 0; i < result.Length; i++)
        {
            var entry = config.Clusters[i];
            var entryPath = FieldPolicy.Index(path, "clusters", i);
            FieldPolicy.RequireOnly(entry, entryPath, "name", "weight");
            var weight = entry.Weight ?? 0;
            result[i] = new WeightedCluster(NonEmpty(entry.Name, FieldPolicy.Join(entryPath, "name")), weight);
            total += weight;
        }

        if (total == 0 || total > uint.MaxValue)
        {
            throw new ConfigException(FieldPolicy.Join(path, "clusters"), $"the weights add up to {total}", "Give weights that add up to between 1 and 4294967295");
        }

        if (config.TotalWeight is { } declared && declared != total)
        {
            throw new ConfigException(FieldPolicy.Join(path, "total_weight"), $"total_weight is {declared} but the weights add up to {total}", "Remove total_weight (deprecated) or make it the sum");
        }

        return result;
    }

    private static HashPolicy TranslateHashPolicy(Pb.RouteAction.Types.HashPolicy config, string path)
    {
        FieldPolicy.RequireOnly(config, path, "header", "cookie", "connection_properties", "terminal");
        switch (config.PolicySpecifierCase)
        {
            case Pb.RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Header:
                var headerPath = FieldPolicy.Join(path, "header");
                FieldPolicy.RequireOnly(config.Header, headerPath, "header_name");
                return HashPolicy.ForHeader(Selector(config.Header.HeaderName, FieldPolicy.Join(headerPath, "header_name")), config.Terminal);
            case Pb.RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Cookie:
                var cookiePath = FieldPolicy.Join(path, "cookie");
                if (config.Cookie.Ttl is not null || config.Cookie.Path.Length > 0)
                {
                    throw new ConfigException(
                        FieldPolicy.Join(cookiePath, config.Cookie.Ttl is not null ? "ttl" : "path"),
                        "Herald does not generate cookies yet",
                        "Remove ttl and path so the policy hashes an existing cookie only");
                }

                FieldPolicy.RequireOnly(config.Cookie, cookiePath, "name");
                return HashPolicy.ForCookie(NonEmpty(config.Cookie.Name, FieldPolicy.Join(cookiePath, "name")), config.Terminal);
            case Pb.RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.ConnectionProperties:
                var propertiesPath = FieldPolicy.Join(path, "connection_properties");
                FieldPolicy.RequireOnly(config.ConnectionProperties, propertiesPath, "source_ip");
                if (!config.ConnectionProperties.SourceIp)
                {
                    throw new ConfigException(FieldPolicy.Join(propertiesPath, "source_ip"), "connection_properties hashes nothing unless source_ip is true", "Set source_ip: true or remove the policy");
                }

                return HashPolicy.ForSourceIp(config.Terminal);
            default:
                throw new ConfigException(path, "the hash policy names no value to hash", "Set header, cookie or connection_properties");
        }
    }

    private static RedirectAction TranslateRedirect(Pb.RedirectAction config, string path, RouteMatcher matcher)
    {
        FieldPolicy.RequireOnly(
            config, path, "https_redirect", "scheme_redirect", "host_redirect", "port_redirect", "path_redirect",
            "prefix_rewrite", "regex_rewrite", "response_code", "strip_query");

        string? scheme = null;
        if (config.SchemeRewriteSpecifierCase == Pb.RedirectAction.SchemeRewriteSpecifierOneofCase.HttpsRedirect && config.HttpsRedirect)
        {
            scheme = "https";
        }
        else if (config.SchemeRewriteSpecifierCase == Pb.RedirectAction.SchemeRewriteSpecifierOneofCase.SchemeRedirect)
        {
            scheme = config.SchemeRedirect.ToLowerInvariant();
            if (scheme.Length == 0 || !IsScheme(scheme))
            {
                throw new ConfigException(FieldPolicy.Join(path, "scheme_redirect"), $"'{config.SchemeRedirect}' is not a URI scheme", "Write a scheme such as https");
            }
        }

        string? host = null;
        if (config.HostRedirect.Length > 0)
        {
            host = config.HostRedirect;
            if (host.AsSpan().IndexOfAny(NotInHost) >= 0)
            {
                throw new ConfigException(FieldPolicy.Join(path, "host_redirect"), $"'{host}' is not a valid host", "Write host[:port]");
            }
        }

        if (config.PortRedirect > 65535)
        {
            throw new ConfigException(FieldPolicy.Join(path, "port_redirect"), $"{config.PortRedirect} is not a port", "Use 1-65535");
        }

        string? pathRedirect = null;
        PathRewriter? rewriter = null;
        switch (config.PathRewriteSpecifierCase)
        {
            case Pb.RedirectAction.PathRewriteSpecifierOneofCase.PathRedirect:
                pathRedirect = config.PathRedirect;
                if (pathRedirect.AsSpan().IndexOfAny(NotInPath) >= 0)
                {
                    throw new ConfigException(FieldPolicy.Join(path, "path_redirect"), $"'{pathRedirect}' is not a valid path", "Remove spaces and control characters");
                }

                break;
            case Pb.RedirectAction.PathRewriteSpecifierOneofCase.PrefixRewrite:
                rewriter = TranslatePrefixRewrite(config.PrefixRewrite, FieldPolicy.Join(path, "prefix_rewrite"), matcher);
                break;
            case Pb.RedirectAction.PathRewriteSpecifierOneofCase.RegexRewrite:
                rewriter = TranslateRegexRewrite(config.RegexRewrite, FieldPolicy.Join(path, "regex_rewrite"), matcher);
                break;
            default:
                break;
        }

        var status = config.ResponseCode switch
        {
            Pb.RedirectAction.Types.RedirectResponseCode.MovedPermanently => 301,
            Pb.RedirectAction.Types.RedirectResponseCode.Found => 302,
            Pb.RedirectAction.Types.RedirectResponseCode.SeeOther => 303,
            Pb.RedirectAction.Types.RedirectResponseCode.TemporaryRedirect => 307,
            Pb.RedirectAction.Types.RedirectResponseCode.PermanentRedirect => 308,
            _ => throw new ConfigException(FieldPolicy.Join(path, "response_code"), $"unknown response code {(int)config.ResponseCode}", "Use MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT or PERMANENT_REDIRECT"),
        };

        return new RedirectAction(status, scheme, host, config.PortRedirect, pathRedirect, rewriter, config.StripQuery);
    }

    private static DirectResponseAction TranslateDirectResponse(Pb.DirectResponseAction config, string path)
    {
        FieldPolicy.RequireOnly(config, path, "status", "body");
        if (config.Status is < 200 or > 599)
        {
            throw new ConfigException(FieldPolicy.Join(path, "status"), $"{config.Status} is not an HTTP status Envoy allows here", "Use a status from 200 to 599");
        }

        ReadOnlyMemory<byte> body = ReadOnlyMemory<byte>.Empty;
        if (config.Body is not null)
        {
            var bodyPath = FieldPolicy.Join(path, "body");
            FieldPolicy.RequireOnly(config.Body, bodyPath, "inline_bytes", "inline_string");
            body = config.Body.SpecifierCase switch
            {
                CorePb.DataSource.SpecifierOneofCase.InlineBytes => config.Body.InlineBytes.ToByteArray(),
                CorePb.DataSource.SpecifierOneofCase.InlineString => Encoding.UTF8.GetBytes(config.Body.InlineString),
                _ => ReadOnlyMemory<byte>.Empty,
            };
            if (body.Length > MaxDirectResponseBodyBytes)
            {
                throw new ConfigException(bodyPath, $"the body is {body.Length} bytes, more than Envoy's limit of {MaxDirectResponseBodyBytes}", "Shorten the body");
            }
        }

        return new DirectResponseAction((int)config.Status, body);
    }

    private static HeaderLevel TranslateHeaders(RepeatedField<CorePb.HeaderValueOption> adds, RepeatedField<string> removes, string path, string addField, string removeField)
    {
        if (adds.Count == 0 && removes.Count == 0)
        {
            return HeaderLevel.None;
        }

        var add = new List<HeaderToAdd>(adds.Count);
        for (var i = 0; i < adds.Count; i++)
        {
            var option = adds[i];
            var optionPath = FieldPolicy.Index(path, addField, i);
            FieldPolicy.RequireOnly(option, optionPath, "header", "append", "append_action", "keep_empty_value");
            var headerPath = FieldPolicy.Join(optionPath, "header");
            if (option.Header is null)
            {
                throw new ConfigException(headerPath, "the header to add is missing", "Set header.key and header.value");
            }

            FieldPolicy.RequireOnly(option.Header, headerPath, "key", "value");
            var name = ModifiableHeaderName(option.Header.Key, FieldPolicy.Join(headerPath, "key"));
            var value = LiteralHeaderValue(option.Header.Value, FieldPolicy.Join(headerPath, "value"));

            HeaderAppendAction action;
            if (option.Append is { } append)
            {
                if (option.AppendAction != CorePb.HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd)
                {
                    throw new ConfigException(FieldPolicy.Join(optionPath, "append"), "append and append_action are both set", "Remove the deprecated append");
                }

                action = append ? HeaderAppendAction.AppendIfExistsOrAdd : HeaderAppendAction.OverwriteIfExistsOrAdd;
            }
            else
            {
                action = option.AppendAction switch
                {
                    CorePb.HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd => HeaderAppendAction.AppendIfExistsOrAdd,
                    CorePb.HeaderValueOption.Types.HeaderAppendAction.AddIfAbsent => HeaderAppendAction.AddIfAbsent,
                    CorePb.HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd => HeaderAppendAction.OverwriteIfExistsOrAdd,
                    CorePb.HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExists => HeaderAppendAction.OverwriteIfExists,
                    _ => throw new ConfigException(FieldPolicy.Join(optionPath, "append_action"), $"unknown append_action {(int)option.AppendAction}", "Use one of Envoy's HeaderAppendAction values"),
                };
            }

            // Envoy adds nothing for an empty value unless keep_empty_value is set.
            if (value.Length > 0 || option.KeepEmptyValue)
            {
                add.Add(new HeaderToAdd(name, value, action));
            }
        }

        var remove = new List<string>(removes.Count);
        for (var i = 0; i < removes.Count; i++)
        {
            remove.Add(ModifiableHeaderName(removes[i], FieldPolicy.Index(path, removeField, i)));
        }

        return new HeaderLevel(add, remove);
    }

    private static string ModifiableHeaderName(string name, string path)
    {
        var lower = name.ToLowerInvariant();
        if (lower.Length == 0)
        {
            throw new ConfigException(path, "the header name is empty", "Write a header name");
        }

        if (lower[0] == ':' || lower == "host")
        {
            throw new ConfigException(path, $"header '{name}' cannot be modified", "Pseudo headers and host are set by the proxy; use host_rewrite_literal to change the host");
        }

        foreach (var c in lower)
        {
            if (!IsTokenChar(c))
            {
                throw new ConfigException(path, $"'{name}' is not a valid header name", "Use letters, digits and !#$%&'*+-.^_`|~");
            }
        }

        return lower;
    }

    /// <summary>
    /// Herald has no substitution formatter yet: any Envoy command (<c>%NAME%</c>) is refused
    /// rather than sent literally; <c>%%</c> is a literal percent sign, as in Envoy.
    /// </summary>
    private static string LiteralHeaderValue(string value, string path)
    {
        if (value.AsSpan().IndexOfAny(NotInValue) >= 0)
        {
            throw new ConfigException(path, "the header value contains CR, LF or NUL", "Remove control characters");
        }

        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '%')
            {
                builder.Append(value[i]);
            }
            else if (i + 1 < value.Length && value[i + 1] == '%')
            {
                builder.Append('%');
                i++;
            }
            else
            {
                throw new ConfigException(path, $"'{value}' uses an Envoy substitution command (%...%), which Herald does not support yet", "Use a literal value; write %% for a literal percent sign");
            }
        }

        return builder.ToString();
    }

    /// <summary>A filter's <c>response_headers_to_add</c>, validated as a route's are.</summary>
    internal static HeaderMutations TranslateHeadersToAdd(RepeatedField<CorePb.HeaderValueOption> adds, string path, string field) =>
        Merge(TranslateHeaders(adds, [], path, field, field), []);

    private static HeaderMutations Merge(HeaderLevel route, HeaderLevel[] outer)
    {
        var addCount = route.Add.Count;
        var removeCount = route.Remove.Count;
        foreach (var level in outer)
        {
            addCount += level.Add.Count;
            removeCount += level.Remove.Count;
        }

        if (addCount == 0 && removeCount == 0)
        {
            return HeaderMutations.Empty;
        }

        // Most specific first: route, virtual host, route configuration, as Envoy applies them.
        var add = new List<HeaderToAdd>(addCount);
        var remove = new List<string>(removeCount);
        add.AddRange(route.Add);
        AddDistinct(remove, route.Remove);
        foreach (var level in outer)
        {
            add.AddRange(level.Add);
            AddDistinct(remove, level.Remove);
        }

        return new HeaderMutations(add.ToArray(), remove.ToArray());
    }

    private static void AddDistinct(List<string> target, List<string> source)
    {
        foreach (var name in source)
        {
            if (!target.Contains(name))
            {
                target.Add(name);
            }
        }
    }

    private static HeaderSelector Selector(string name, string path)
    {
        if (name.Length == 0)
        {
            throw new ConfigException(path, "the header name is empty", "Write a header name");
        }

        return HeaderSelector.Create(name)
            ?? throw new ConfigException(path, $"pseudo header '{name}' is not known to Herald", "Use :method, :authority, :path, :scheme or a regular header");
    }

    private static TimeSpan ToTimeSpan(Google.Protobuf.WellKnownTypes.Duration duration, string path)
    {
        if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Nanos >= 1_000_000_000 || duration.Seconds > 315_576_000_000)
        {
            throw new ConfigException(path, $"{duration} is not a valid non-negative duration", "Use a duration such as 15s, or 0s to disable the timeout");
        }

        return TimeSpan.FromTicks((duration.Seconds * TimeSpan.TicksPerSecond) + (duration.Nanos / 100));
    }

    private static string NonEmpty(string value, string path) =>
        value.Length > 0 ? value : throw new ConfigException(path, "the value is empty", "Set a non-empty value");

    private static bool IsScheme(string scheme)
    {
        if (!char.IsAsciiLetter(scheme[0]))
        {
            return false;
        }

        foreach (var c in scheme)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    private sealed record HeaderLevel(List<HeaderToAdd> Add, List<string> Remove)
    {
        public static HeaderLevel None { get; } = new([], []);
    }
}
