using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Proxy.Tls;

/// <summary>A filter chain's validated <c>DownstreamTlsContext</c>: how Herald terminates TLS on it.</summary>
internal sealed class DownstreamTlsConfig
{
    // Options are built once per certificate and shared by handshakes (SslStream copies them).
    private readonly ConditionalWeakTable<TlsCertificate, SslServerAuthenticationOptions> _options = new();

    /// <summary>The certificates, in config order; a handshake takes the first that serves its SNI, else the first.</summary>
    public required IReadOnlyList<ICertificateSource> Certificates { get; init; }

    /// <summary><c>alpn_protocols</c>; empty means no ALPN (HTTP/1.1 unless the codec says HTTP2).</summary>
    public IReadOnlyList<SslApplicationProtocol> ApplicationProtocols { get; init; } = [];

    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    public bool RequireClientCertificate { get; init; }

    public PeerValidation? ClientValidation { get; init; }

    /// <summary>A handshake's server options for <paramref name="serverName"/> (SNI, may be null); null when no certificate is available yet.</summary>
    public SslServerAuthenticationOptions? OptionsFor(string? serverName)
    {
        TlsCertificate? chosen = null;
        foreach (var source in Certificates)
        {
            var certificate = source.Current;
            if (certificate is null)
            {
                continue;
            }

            chosen ??= certificate;
            if (serverName is not null && certificate.Serves(serverName))
            {
                chosen = certificate;
                break;
            }
        }

        return chosen is null ? null : _options.GetValue(chosen, Create);
    }

    private SslServerAuthenticationOptions Create(TlsCertificate certificate)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.Context,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateRequired = RequireClientCertificate || ClientValidation is not null,
            AllowRenegotiation = false,
        };
        if (ApplicationProtocols.Count > 0)
        {
            options.ApplicationProtocols = [.. ApplicationProtocols];
        }

        var validation = ClientValidation;
        var required = RequireClientCertificate;
        options.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            certificate is null
                ? !required
                : validation is null || validation.Validate(certificate, chain, out _);
        return options;
    }
}
