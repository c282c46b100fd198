namespace Herald.Proxy.Tls;

/// <summary>A certificate given inline in the config: it changes only with the config.</summary>
internal sealed class StaticCertificateSource(TlsCertificate certificate) : ICertificateSource
{
    public TlsCertificate? Current => certificate;
}
