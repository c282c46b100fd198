using Herald.Proxy.Config;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.Stats;
using Pb = Envoy.Extensions.Filters.Http.LocalRatelimit.V3;

namespace Herald.Proxy.Http.Filters;

/// <summary>
/// One validated <c>LocalRateLimit</c> (the filter's own, or a route's or virtual host's
/// typed_per_filter_config): each instance owns its token bucket, as in Envoy.
/// </summary>
internal sealed class LocalRateLimitSettings
{
    public const string FilterName = "envoy.filters.http.local_ratelimit";
    public const string TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
    public const string Body = "local_rate_limited";

    /// <summary>Envoy refuses faster refills.</summary>
    public static readonly TimeSpan MinFillInterval = TimeSpan.FromMilliseconds(50);

    private LocalRateLimitStats? _stats;

    public required string StatPrefix { get; init; }

    /// <summary>Null: no bucket (a filter-level config that only routes override); every request passes.</summary>
    public TokenBucket? Bucket { get; init; }

    public FractionalPercentage Enabled { get; init; }

    public FractionalPercentage Enforced { get; init; }

    public required FilterReply Reply { get; init; }

    /// <summary>Counters named by this config's stat_prefix (created on first use: per-route configs are translated without a stats store).</summary>
    public LocalRateLimitStats StatsIn(StatsStore store) => _stats ??= new LocalRateLimitStats(store, StatPrefix);

    /// <param name="perRoute">typed_per_filter_config: the token bucket is required.</param>
    public static LocalRateLimitSettings Translate(Pb.LocalRateLimit config, string path, bool perRoute)
    {
        FieldPolicy.RequireOnly(
            config,
            path,
            "stat_prefix",
            "status",
            "token_bucket",
            "filter_enabled",
            "filter_enforced",
            "response_headers_to_add",
            "rate_limited_as_resource_exhausted");
        if (string.IsNullOrEmpty(config.StatPrefix))
        {
            throw new ConfigException(FieldPolicy.Join(path, "stat_prefix"), "stat_prefix is required", "Set a stat prefix such as 'http_local_rate_limiter'");
        }

        var status = 429;
        if (config.Status is { } httpStatus)
        {
            FieldPolicy.RequireOnly(httpStatus, FieldPolicy.Join(path, "status"), "code");
            var code = (int)httpStatus.Code;
            if (code is < 100 or > 599)
            {
                throw new ConfigException(FieldPolicy.Join(path, "status.code"), $"status {code} is not an HTTP status", "Use a status such as 429 or 503");
            }

            // Envoy: below 400, 429 is used instead.
            status = code >= 400 ? code : 429;
        }

        TokenBucket? bucket = null;
        var bucketPath = FieldPolicy.Join(path, "token_bucket");
        if (config.TokenBucket is { } tokenBucket)
        {
            FieldPolicy.RequireOnly(tokenBucket, bucketPath, "max_tokens", "tokens_per_fill", "fill_interval");
            if (tokenBucket.MaxTokens == 0)
            {
                throw new ConfigException(FieldPolicy.Join(bucketPath, "max_tokens"), "max_tokens must be greater than 0", "Set the burst size, for example max_tokens: 10");
            }

            var perFill = tokenBucket.TokensPerFill ?? 1;
            if (perFill == 0)
            {
                throw new ConfigException(FieldPolicy.Join(bucketPath, "tokens_per_fill"), "tokens_per_fill must be greater than 0", "Leave it out (1) or set a positive count");
            }

            if (tokenBucket.FillInterval is null)
            {
                throw new ConfigException(FieldPolicy.Join(bucketPath, "fill_interval"), "fill_interval is required", "Set fill_interval, for example 1s");
            }

            var interval = tokenBucket.FillInterval.ToTimeSpan();
            if (interval < MinFillInterval)
            {
                throw new ConfigException(FieldPolicy.Join(bucketPath, "fill_interval"), $"fill_interval {interval.TotalMilliseconds} ms is below Envoy's minimum of 50 ms", "Use at least 50ms and raise tokens_per_fill instead");
            }

            bucket = new TokenBucket(tokenBucket.MaxTokens, perFill, interval);
        }
        else if (perRoute)
        {
            throw new ConfigException(bucketPath, "a per-route local rate limit needs a token bucket", "Set token_bucket (max_tokens, tokens_per_fill, fill_interval)");
        }

        var headers = config.ResponseHeadersToAdd.Count > 10
            ? throw new ConfigException(FieldPolicy.Join(path, "response_headers_to_add"), "at most 10 headers may be added", "Remove some headers")
            : RouteTableTranslator.TranslateHeadersToAdd(config.ResponseHeadersToAdd, path, "response_headers_to_add");

        // Envoy's local rate limit reply carries x-envoy-ratelimited: true (see its filter documentation).
        var added = new List<HeaderToAdd>(headers.Add.Length + 1) { new("x-envoy-ratelimited", "true", HeaderAppendAction.OverwriteIfExistsOrAdd) };
        added.AddRange(headers.Add);
        int? grpcStatus = config.RateLimitedAsResourceExhausted ? 8 : null;
        return new LocalRateLimitSettings
        {
            StatPrefix = config.StatPrefix,
            Bucket = bucket,
            Enabled = TranslateRuntimePercent(config.FilterEnabled, FieldPolicy.Join(path, "filter_enabled")),
            Enforced = TranslateRuntimePercent(config.FilterEnforced, FieldPolicy.Join(path, "filter_enforced")),
            Reply = new FilterReply(status, Body, new HeaderMutations(added, []), "RL", grpcStatus),
        };
    }

    // Envoy's default when unset is 0%, "for safety"; runtime keys are not consulted (Herald has no runtime layer).
    private static FractionalPercentage TranslateRuntimePercent(Envoy.Config.Core.V3.RuntimeFractionalPercent? config, string path)
    {
        if (config is null)
        {
            return FractionalPercentage.Never;
        }

        FieldPolicy.RequireOnly(config, path, "default_value", "runtime_key");
        return FractionalPercentage.Translate(config.DefaultValue, FieldPolicy.Join(path, "default_value"), FractionalPercentage.Never);
    }
}
