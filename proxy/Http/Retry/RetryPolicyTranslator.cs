using System.Collections.Immutable;
using Herald.Proxy.Config;
using Pb = Envoy.Config.Route.V3;

namespace Herald.Proxy.Http.Retry;

/// <summary>Envoy's route <c>retry_policy</c> to a validated <see cref="RetryPolicy"/>.</summary>
internal static class RetryPolicyTranslator
{
    /// <summary>Envoy's previous_hosts predicate; Herald avoids previously tried hosts anyway.</summary>
    public const string PreviousHostsPredicate = "envoy.retry_host_predicates.previous_hosts";

    private const string Supported =
        "5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, "
        + "cancelled, deadline-exceeded, internal, resource-exhausted, unavailable";

    public static RetryPolicy Translate(Pb.RetryPolicy config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        FieldPolicy.RequireOnly(
            config, path, "retry_on", "num_retries", "per_try_timeout", "retry_host_predicate",
            "host_selection_retry_max_attempts", "retriable_status_codes", "retry_back_off", "retriable_headers");

        var retryOn = ParseRetryOn(config.RetryOn, FieldPolicy.Join(path, "retry_on"));
        var numRetries = RetryPolicy.DefaultNumRetries;
        if (config.NumRetries is { } retries)
        {
            if (retries > 100)
            {
                throw new ConfigException(FieldPolicy.Join(path, "num_retries"), $"{retries} retries is more than Herald allows", "Use at most 100");
            }

            numRetries = (int)retries;
        }

        var perTry = TimeSpan.Zero;
        if (config.PerTryTimeout is not null)
        {
            perTry = Duration(config.PerTryTimeout, FieldPolicy.Join(path, "per_try_timeout"), allowZero: true);
        }

        for (var i = 0; i < config.RetryHostPredicate.Count; i++)
        {
            var predicate = config.RetryHostPredicate[i];
            var predicatePath = FieldPolicy.Index(path, "retry_host_predicate", i);
            FieldPolicy.RequireOnly(predicate, predicatePath, "name", "typed_config");
            if (!string.Equals(predicate.Name, PreviousHostsPredicate, StringComparison.Ordinal))
            {
                throw new ConfigException(
                    FieldPolicy.Join(predicatePath, "name"),
                    $"retry host predicate '{predicate.Name}' is not supported",
                    $"Use {PreviousHostsPredicate} (Herald avoids previously tried hosts by default), or remove it");
            }
        }

        if (config.HostSelectionRetryMaxAttempts < 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "host_selection_retry_max_attempts"), "the value is negative", "Use a positive number, or remove it");
        }

        var codes = ImmutableArray.CreateBuilder<int>(config.RetriableStatusCodes.Count);
        for (var i = 0; i < config.RetriableStatusCodes.Count; i++)
        {
            var code = config.RetriableStatusCodes[i];
            if (code is < 100 or > 599)
            {
                throw new ConfigException(FieldPolicy.Index(path, "retriable_status_codes", i), $"{code} is not an HTTP status code", "Use codes from 100 to 599");
            }

            codes.Add((int)code);
        }

        var headers = ImmutableArray.CreateBuilder<Routing.HeaderCondition>(config.RetriableHeaders.Count);
        for (var i = 0; i < config.RetriableHeaders.Count; i++)
        {
            var headerPath = FieldPolicy.Index(path, "retriable_headers", i);
            if (config.RetriableHeaders[i].Name.StartsWith(':'))
            {
                throw new ConfigException(FieldPolicy.Join(headerPath, "name"), $"'{config.RetriableHeaders[i].Name}' is a pseudo header; retriable_headers match response headers", "Match a response header by name; use retriable_status_codes for the status");
            }

            headers.Add(Routing.RouteTableTranslator.TranslateHeaderMatcher(config.RetriableHeaders[i], headerPath));
        }

        if ((retryOn & RetryOn.RetriableHeaders) != 0 && headers.Count == 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "retriable_headers"), "retry_on has retriable-headers but no retriable_headers are listed", "List the response headers that make a response retriable, or drop retriable-headers");
        }

        var baseInterval = RetryPolicy.DefaultBaseInterval;
        var maxInterval = RetryPolicy.DefaultBaseInterval * 10;
        if (config.RetryBackOff is { } backOff)
        {
            var backOffPath = FieldPolicy.Join(path, "retry_back_off");
            FieldPolicy.RequireOnly(backOff, backOffPath, "base_interval", "max_interval");
            if (backOff.BaseInterval is null)
            {
                throw new ConfigException(FieldPolicy.Join(backOffPath, "base_interval"), "retry_back_off needs base_interval", "Set base_interval, for example 25ms");
            }

            baseInterval = Duration(backOff.BaseInterval, FieldPolicy.Join(backOffPath, "base_interval"), allowZero: false);
            maxInterval = baseInterval * 10;
            if (backOff.MaxInterval is not null)
            {
                maxInterval = Duration(backOff.MaxInterval, FieldPolicy.Join(backOffPath, "max_interval"), allowZero: false);
                if (maxInterval < baseInterval)
                {
                    throw new ConfigException(
                        FieldPolicy.Join(backOffPath, "max_interval"),
                        $"max_interval {maxInterval.TotalMilliseconds} ms is shorter than base_interval {baseInterval.TotalMilliseconds} ms",
                        "Set max_interval to at least base_interval");
                }
            }
        }

        return new RetryPolicy
        {
            RetryOn = retryOn,
            NumRetries = numRetries,
            PerTryTimeout = perTry,
            RetriableStatusCodes = codes.ToImmutable(),
            RetriableHeaders = headers.ToImmutable(),
            BaseInterval = baseInterval,
            MaxInterval = maxInterval,
        };
    }

    /// <summary>Parses Envoy's comma-separated retry_on; unknown or unsupported conditions are errors.</summary>
    public static RetryOn ParseRetryOn(string value, string path)
    {
        var result = RetryOn.None;
        foreach (var raw in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            result |= raw switch
            {
                "5xx" => RetryOn.FiveXx,
                "gateway-error" => RetryOn.GatewayError,
                "reset" => RetryOn.Reset,
                "connect-failure" => RetryOn.ConnectFailure,
                "retriable-4xx" => RetryOn.Retriable4xx,
                "refused-stream" => RetryOn.RefusedStream,
                "retriable-status-codes" => RetryOn.RetriableStatusCodes,
                "retriable-headers" => RetryOn.RetriableHeaders,
                "cancelled" => RetryOn.GrpcCancelled,
                "deadline-exceeded" => RetryOn.GrpcDeadlineExceeded,
                "internal" => RetryOn.GrpcInternal,
                "resource-exhausted" => RetryOn.GrpcResourceExhausted,
                "unavailable" => RetryOn.GrpcUnavailable,
                _ => throw new ConfigException(path, $"retry condition '{raw}' is not supported by Herald", $"Use a comma-separated list of: {Supported}"),
            };
        }

        return result;
    }

    private static TimeSpan Duration(Google.Protobuf.WellKnownTypes.Duration duration, string path, bool allowZero)
    {
        if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Nanos >= 1_000_000_000 || duration.Seconds > 315_576_000_000
            || (!allowZero && duration.Seconds == 0 && duration.Nanos == 0))
        {
            throw new ConfigException(
                path,
                $"{duration} is not a valid {(allowZero ? "non-negative" : "positive")} duration",
                allowZero ? "Use a duration such as 250ms, or 0s for none" : "Use a positive duration such as 25ms");
        }

        var ticks = (duration.Seconds * TimeSpan.TicksPerSecond) + (duration.Nanos / 100);
        if (!allowZero && ticks < TimeSpan.TicksPerMillisecond)
        {
            throw new ConfigException(path, $"{duration} is shorter than 1 ms", "Use at least 1ms");
        }

        return TimeSpan.FromTicks(ticks);
    }
}
