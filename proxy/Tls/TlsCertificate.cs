using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Proxy.Tls;

/// <summary>
/// A loaded certificate with its private key and intermediates, ready for handshakes, and the
/// DNS names it serves (for choosing among several certificates by SNI).
/// </summary>
internal sealed class TlsCertificate
{
    private TlsCertificate(X509Certificate2 leaf, SslStreamCertificateContext context, string[] dnsNames)
    {
        Leaf = leaf;
        Context = context;
        DnsNames = dnsNames;
    }

    public X509Certificate2 Leaf { get; }

    public SslStreamCertificateContext Context { get; }

    /// <summary>Lower-case DNS subject alternative names (may hold "*.suffix").</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>
    /// Parses a PEM chain (leaf first, then intermediates) and its PEM private key. Throws
    /// <see cref="CryptographicException"/> when either is unreadable or they do not belong together.
    /// </summary>
    public static TlsCertificate FromPem(string chainPem, string keyPem, string? password)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(chainPem);
        if (chain.Count == 0)
        {
            throw new CryptographicException("the certificate chain holds no PEM certificate");
        }

        var withKey = string.IsNullOrEmpty(password)
            ? X509Certificate2.CreateFromPem(chainPem, keyPem)
            : X509Certificate2.CreateFromEncryptedPem(chainPem, keyPem, password);

        // Linux loads an ephemeral key fine for SslStream; a PKCS#12 round trip is not needed.
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        var context = SslStreamCertificateContext.Create(withKey, intermediates, offline: true);
        return new TlsCertificate(withKey, context, DnsNamesOf(withKey));
    }

    /// <summary>True when <paramref name="serverName"/> is one of the certificate's DNS names (wildcards cover one label).</summary>
    public bool Serves(string serverName)
    {
        foreach (var name in DnsNames)
        {
            if (CertificateNames.DnsNameMatches(name, serverName))
            {
                return true;
            }
        }

        return false;
    }

    private static string[] DnsNamesOf(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (var name in san.EnumerateDnsNames())
                {
                    names.Add(name.ToLowerInvariant());
                }
            }
        }

        return [.. names];
    }
}
