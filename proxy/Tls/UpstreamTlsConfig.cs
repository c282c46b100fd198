using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Proxy.Tls;

/// <summary>
/// A cluster's validated <c>UpstreamTlsContext</c>: Herald originates TLS to its endpoints,
/// sending <see cref="Sni"/> and checking the endpoint's certificate when a validation
/// context is given (without one, as in Envoy, any certificate is accepted).
/// </summary>
internal sealed class UpstreamTlsConfig
{
    public string? Sni { get; init; }

    public PeerValidation? Validation { get; init; }

    public IReadOnlyList<SslApplicationProtocol> ApplicationProtocols { get; init; } = [];

    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>A client certificate to present (mutual TLS), or null.</summary>
    public ICertificateSource? ClientCertificate { get; init; }

    /// <summary>
    /// Client options for one connection. A certificate that fails validation throws
    /// <see cref="UpstreamTlsException"/> from the handshake, carrying the reason.
    /// </summary>
    public SslClientAuthenticationOptions CreateOptions(IReadOnlyList<SslApplicationProtocol>? applicationProtocols = null)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = Sni ?? string.Empty,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = Validate,
        };
        var protocols = applicationProtocols ?? ApplicationProtocols;
        if (protocols.Count > 0)
        {
            options.ApplicationProtocols = [.. protocols];
        }

        if (ClientCertificate?.Current is { } client)
        {
            options.ClientCertificateContext = client.Context;
        }

        return options;
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (Validation is null)
        {
            return true;
        }

        return Validation.Validate(certificate, chain, out var failure) ? true : throw new UpstreamTlsException(failure);
    }
}
