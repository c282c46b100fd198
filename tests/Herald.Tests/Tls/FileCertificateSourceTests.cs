using Herald.Proxy.Tls;
using Herald.Tests.TestSupport;
using Herald.Tests.TestSupport.Tls;
using Xunit;

namespace Herald.Tests.Tls;

public sealed class FileCertificateSourceTests
{
    [Fact]
    public void Current_FilesReplaced_NewCertificateAfterTheCheckIntervalOnly()
    {
        using var certificates = new TestCertificates();
        var first = certificates.Issue("a", ["a.test"]);
        var second = certificates.Issue("b", ["a.test"]);
        var time = new ManualTimeProvider();
        var source = new FileCertificateSource(first.CertificatePath, first.KeyPath, null, time);
        Assert.Equal(first.Serial, source.Current!.Leaf.SerialNumber);

        second.Write(first.CertificatePath, first.KeyPath);
        Assert.Equal(first.Serial, source.Current!.Leaf.SerialNumber);
        time.Advance(FileCertificateSource.CheckInterval);

        Assert.Equal(second.Serial, source.Current!.Leaf.SerialNumber);
        Assert.Equal(1, source.Reloads);
    }

    [Fact]
    public void Current_CertificateReplacedButNotYetItsKey_KeepsServingTheOldPairUntilBothMatch()
    {
        using var certificates = new TestCertificates();
        var first = certificates.Issue("a", ["a.test"]);
        var second = certificates.Issue("b", ["a.test"]);
        var time = new ManualTimeProvider();
        var source = new FileCertificateSource(first.CertificatePath, first.KeyPath, null, time);

        File.WriteAllText(first.CertificatePath, second.CertificatePem);
        time.Advance(FileCertificateSource.CheckInterval);
        Assert.Equal(first.Serial, source.Current!.Leaf.SerialNumber);

        File.WriteAllText(first.KeyPath, second.KeyPem);
        time.Advance(FileCertificateSource.CheckInterval);
        Assert.Equal(second.Serial, source.Current!.Leaf.SerialNumber);
    }

    [Fact]
    public void Constructor_KeyOfAnotherCertificate_Throws()
    {
        using var certificates = new TestCertificates();
        var first = certificates.Issue("a", ["a.test"]);
        var second = certificates.Issue("b", ["b.test"]);

        Assert.ThrowsAny<Exception>(() => new FileCertificateSource(first.CertificatePath, second.KeyPath, null, new ManualTimeProvider()));
    }
}
