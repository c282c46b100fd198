namespace Herald.Proxy.Http;

/// <summary>Bodies of the replies Herald makes itself, worded as Envoy's so users recognise them.</summary>
internal static class LocalReplies
{
    public const string UpstreamResetPrefix = "upstream connect error or disconnect/reset before headers. reset reason: ";

    public static string UpstreamReset(string reason) => UpstreamResetPrefix + reason;

    public const string NoHealthyUpstream = "no healthy upstream";

    public const string UpstreamTimeout = "upstream request timeout";

    public const string NoCluster = "cluster not found";

    /// <summary>A circuit breaker overflowed (sent with x-envoy-overloaded: true).</summary>
    public const string Overflow = UpstreamResetPrefix + "overflow";

    public static string ReasonPhrase(int status) => status switch
    {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    };
}
