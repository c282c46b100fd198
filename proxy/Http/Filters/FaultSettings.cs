using System.Buffers.Text;
using Herald.Proxy.Config;
using Herald.Proxy.Http.Routing;
using Pb = Envoy.Extensions.Filters.Http.Fault.V3;

namespace Herald.Proxy.Http.Filters;

/// <summary>One validated <c>HTTPFault</c> (the filter's own or a route's typed_per_filter_config).</summary>
internal sealed class FaultSettings
{
    public const string FilterName = "envoy.filters.http.fault";
    public const string TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
    public const string AbortBody = "fault filter abort";

    private FilterReply? _fixedAbort;

    /// <summary>Requests must match every one of these to be faulted.</summary>
    public IReadOnlyList<HeaderCondition> Headers { get; private init; } = [];

    public bool HasDelay { get; private init; }

    /// <summary>Zero with <see cref="HeaderDelay"/>: the delay comes from x-envoy-fault-delay-request.</summary>
    public TimeSpan FixedDelay { get; private init; }

    public bool HeaderDelay { get; private init; }

    public FractionalPercentage DelayPercentage { get; private init; }

    public bool HasAbort { get; private init; }

    /// <summary>0 unless a fixed HTTP abort.</summary>
    public int AbortHttpStatus { get; private init; }

    /// <summary>Set for a fixed gRPC abort.</summary>
    public int? AbortGrpcStatus { get; private init; }

    public bool HeaderAbort { get; private init; }

    public FractionalPercentage AbortPercentage { get; private init; }

    /// <summary>Null: unlimited.</summary>
    public uint? MaxActiveFaults { get; private init; }

    public bool Matches(IRequestHead request)
    {
        foreach (var header in Headers)
        {
            if (!header.Matches(request))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The delay to inject for this request, or zero.</summary>
    public TimeSpan DelayFor(IRequestHead request, Random random)
    {
        if (!HasDelay)
        {
            return TimeSpan.Zero;
        }

        var delay = FixedDelay;
        if (HeaderDelay)
        {
            if (!TryGetNumber(request, "x-envoy-fault-delay-request"u8, out var milliseconds) || milliseconds == 0)
            {
                return TimeSpan.Zero;
            }

            delay = TimeSpan.FromMilliseconds(milliseconds);
        }

        return Percentage(request, DelayPercentage, "x-envoy-fault-delay-request-percentage"u8).Sample(random) ? delay : TimeSpan.Zero;
    }

    /// <summary>The abort reply for this request, or null.</summary>
    public FilterReply? AbortFor(IRequestHead request, Random random)
    {
        if (!HasAbort)
        {
            return null;
        }

        FilterReply reply;
        if (HeaderAbort)
        {
            if (TryGetNumber(request, "x-envoy-fault-abort-grpc-request"u8, out var grpc))
            {
                reply = GrpcAbort((int)grpc);
            }
            else if (TryGetNumber(request, "x-envoy-fault-abort-request"u8, out var http) && http is >= 200 and < 600)
            {
                reply = HttpAbort((int)http);
            }
            else
            {
                return null;
            }
        }
        else
        {
            reply = _fixedAbort ??= AbortGrpcStatus is { } grpcStatus ? GrpcAbort(grpcStatus) : HttpAbort(AbortHttpStatus);
        }

        return Percentage(request, AbortPercentage, "x-envoy-fault-abort-request-percentage"u8).Sample(random) ? reply : null;
    }

    public static FaultSettings Translate(Pb.HTTPFault config, string path)
    {
        // The *_runtime keys name Envoy runtime overrides; Herald has no runtime layer and uses the configured values.
        FieldPolicy.RequireOnly(
            config,
            path,
            "delay",
            "abort",
            "headers",
            "max_active_faults",
            "delay_percent_runtime",
            "abort_percent_runtime",
            "delay_duration_runtime",
            "abort_http_status_runtime",
            "max_active_faults_runtime",
            "abort_grpc_status_runtime",
            "disable_downstream_cluster_stats");

        var headers = new HeaderCondition[config.Headers.Count];
        for (var i = 0; i < headers.Length; i++)
        {
            headers[i] = RouteTableTranslator.TranslateHeaderMatcher(config.Headers[i], FieldPolicy.Index(path, "headers", i));
        }

        var hasDelay = false;
        var fixedDelay = TimeSpan.Zero;
        var headerDelay = false;
        var delayPercentage = FractionalPercentage.Never;
        if (config.Delay is { } delay)
        {
            var delayPath = FieldPolicy.Join(path, "delay");
            FieldPolicy.RequireOnly(delay, delayPath, "fixed_delay", "header_delay", "percentage", "type");
            hasDelay = true;
            switch (delay.FaultDelaySecifierCase)
            {
                case Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay.FaultDelaySecifierOneofCase.FixedDelay:
                    fixedDelay = delay.FixedDelay.ToTimeSpan();
                    if (fixedDelay <= TimeSpan.Zero)
                    {
                        throw new ConfigException(FieldPolicy.Join(delayPath, "fixed_delay"), "fixed_delay must be greater than 0", "Set a positive delay such as 2s");
                    }

                    break;
                case Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay.FaultDelaySecifierOneofCase.HeaderDelay:
                    FieldPolicy.RequireOnly(delay.HeaderDelay, FieldPolicy.Join(delayPath, "header_delay"));
                    headerDelay = true;
                    break;
                default:
                    throw new ConfigException(delayPath, "the delay has neither fixed_delay nor header_delay", "Set fixed_delay (for example 2s) or header_delay: {}");
            }

            delayPercentage = FractionalPercentage.Translate(delay.Percentage, FieldPolicy.Join(delayPath, "percentage"), FractionalPercentage.Never);
        }

        var hasAbort = false;
        var httpStatus = 0;
        int? grpcStatus = null;
        var headerAbort = false;
        var abortPercentage = FractionalPercentage.Never;
        if (config.Abort is { } abort)
        {
            var abortPath = FieldPolicy.Join(path, "abort");
            FieldPolicy.RequireOnly(abort, abortPath, "http_status", "grpc_status", "header_abort", "percentage");
            hasAbort = true;
            switch (abort.ErrorTypeCase)
            {
                case Pb.FaultAbort.ErrorTypeOneofCase.HttpStatus:
                    httpStatus = (int)abort.HttpStatus;
                    if (httpStatus is < 200 or >= 600)
                    {
                        throw new ConfigException(FieldPolicy.Join(abortPath, "http_status"), $"http_status {httpStatus} is outside [200, 600)", "Use a status such as 503");
                    }

                    break;
                case Pb.FaultAbort.ErrorTypeOneofCase.GrpcStatus:
                    grpcStatus = (int)abort.GrpcStatus;
                    break;
                case Pb.FaultAbort.ErrorTypeOneofCase.HeaderAbort:
                    FieldPolicy.RequireOnly(abort.HeaderAbort, FieldPolicy.Join(abortPath, "header_abort"));
                    headerAbort = true;
                    break;
                default:
                    throw new ConfigException(abortPath, "the abort has none of http_status, grpc_status or header_abort", "Set http_status (for example 503), grpc_status or header_abort: {}");
            }

            abortPercentage = FractionalPercentage.Translate(abort.Percentage, FieldPolicy.Join(abortPath, "percentage"), FractionalPercentage.Never);
        }

        return new FaultSettings
        {
            Headers = headers,
            HasDelay = hasDelay,
            FixedDelay = fixedDelay,
            HeaderDelay = headerDelay,
            DelayPercentage = delayPercentage,
            HasAbort = hasAbort,
            AbortHttpStatus = httpStatus,
            AbortGrpcStatus = grpcStatus,
            HeaderAbort = headerAbort,
            AbortPercentage = abortPercentage,
            MaxActiveFaults = config.MaxActiveFaults,
        };
    }

    private static FilterReply HttpAbort(int status) => new(status, AbortBody, HeaderMutations.Empty, "FI");

    private static FilterReply GrpcAbort(int grpcStatus) => new(200, AbortBody, HeaderMutations.Empty, "FI", grpcStatus, alwaysGrpc: true);

    // Envoy: a header percentage can only lower the configured one (same denominator).
    private static FractionalPercentage Percentage(IRequestHead request, FractionalPercentage configured, ReadOnlySpan<byte> header) =>
        TryGetNumber(request, header, out var numerator) ? configured.CappedAt(numerator) : configured;

    private static bool TryGetNumber(IRequestHead request, ReadOnlySpan<byte> header, out uint value)
    {
        value = 0;
        return request.TryGetHeader(header, out var text)
            && Utf8Parser.TryParse(text.Trim(" \t"u8), out value, out var consumed)
            && consumed == text.Trim(" \t"u8).Length;
    }
}
