using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Herald.Tests.TestSupport.Tls;

/// <summary>
/// A throwaway CA and leaf certificates made with <see cref="CertificateRequest"/>, written as
/// PEM files to a temp directory (for herald's config, curl's --cacert and openssl s_client).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly DirectoryInfo _dir = System.IO.Directory.CreateTempSubdirectory("herald-tls-");

    public TestCertificates(string caName = "Herald Test CA")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={caName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddYears(1));
        CaPath = Path.Combine(_dir.FullName, "ca.pem");
        File.WriteAllText(CaPath, Ca.ExportCertificatePem());
    }

    public X509Certificate2 Ca { get; }

    public string CaPath { get; }

    public string Directory => _dir.FullName;

    /// <summary>A leaf signed by the CA for <paramref name="dnsNames"/> (and 127.0.0.1), written as NAME.pem and NAME.key.</summary>
    public Leaf Issue(string name, string[] dnsNames, string[]? uris = null, DateTimeOffset? notAfter = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={dnsNames.FirstOrDefault() ?? name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
        {
            san.AddDnsName(dns);
        }

        foreach (var uri in uris ?? [])
        {
            san.AddUri(new Uri(uri));
        }

        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        var end = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        using var certificate = request.Create(Ca, DateTimeOffset.UtcNow.AddDays(-2), end, serial);
        var withKey = certificate.CopyWithPrivateKey(key);
        var leaf = new Leaf(withKey, Path.Combine(_dir.FullName, name + ".pem"), Path.Combine(_dir.FullName, name + ".key"));
        leaf.Write(leaf.CertificatePath, leaf.KeyPath);
        return leaf;
    }

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    /// <summary>An issued certificate with its key, and where its PEM files are.</summary>
    public sealed record Leaf(X509Certificate2 Certificate, string CertificatePath, string KeyPath)
    {
        /// <summary>Upper-case hex serial, as openssl prints it.</summary>
        public string Serial => Certificate.SerialNumber;

        public string CertificatePem => Certificate.ExportCertificatePem();

        public string KeyPem => Certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem();

        /// <summary>Writes this certificate and key over the given files (certificate first, each atomically by rename).</summary>
        public void Write(string certificatePath, string keyPath)
        {
            WriteAtomically(certificatePath, CertificatePem);
            WriteAtomically(keyPath, KeyPem);
        }

        private static void WriteAtomically(string path, string content)
        {
            var temp = path + ".tmp";
            File.WriteAllText(temp, content);
            File.Move(temp, path, overwrite: true);
        }
    }
}
