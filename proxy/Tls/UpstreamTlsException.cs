using System.Security.Authentication;

namespace Herald.Proxy.Tls;

/// <summary>An upstream's certificate failed validation; the message says why.</summary>
internal sealed class UpstreamTlsException : AuthenticationException
{
    public UpstreamTlsException()
    {
    }

    public UpstreamTlsException(string message)
        : base(message)
    {
    }

    public UpstreamTlsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// Envoy's reset reason for a failed TLS handshake found in <paramref name="exception"/> or its
    /// inner exceptions ("connection failure, transport failure reason: TLS_error: ..."), or null
    /// when the failure was not TLS.
    /// </summary>
    public static string? ResetReasonOf(Exception exception)
    {
        AuthenticationException? tls = null;
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is UpstreamTlsException own)
            {
                tls = own;
                break;
            }

            tls ??= e as AuthenticationException;
        }

        return tls is null ? null : "connection failure, transport failure reason: TLS_error: " + tls.Message;
    }
}
