using Herald.Tests.TestSupport.EndToEnd;
using Herald.Tests.TestSupport.Tls;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Clusters with an UpstreamTlsContext, against a real Kestrel HTTPS upstream.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class UpstreamTlsTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrustedCaAndMatchingSan_RequestReachesTheHttpsUpstream(bool http2)
    {
        using var certificates = new TestCertificates();
        var leaf = certificates.Issue("upstream", ["upstream.test"]);
        await using var upstream = await TlsUpstream.StartAsync("secure", leaf.Certificate);
        await using var herald = await StartAsync(upstream.Port, http2, TlsConfigJson.Upstream("upstream.test", certificates.CaPath, "upstream.test"));

        var curl = await Curl.RunAsync($"{herald.ListenerUrl("http")}/");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Equal(http2 ? "secure HTTP/2 https" : "secure HTTP/1.1 https", curl.Stdout);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpstreamSignedByAnotherCa_503WithTheTlsReason(bool http2)
    {
        using var trusted = new TestCertificates("Trusted CA");
        using var other = new TestCertificates("Other CA");
        var leaf = other.Issue("upstream", ["upstream.test"]);
        await using var upstream = await TlsUpstream.StartAsync("secure", leaf.Certificate);
        await using var herald = await StartAsync(upstream.Port, http2, TlsConfigJson.Upstream("upstream.test", trusted.CaPath, "upstream.test"));

        var curl = await Curl.RunAsync("-w", " %{http_code}", $"{herald.ListenerUrl("http")}/");

        Assert.EndsWith(" 503", curl.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS_error: CERTIFICATE_VERIFY_FAILED", curl.Stdout, StringComparison.Ordinal);
        Assert.Contains("does not verify against trusted_ca", curl.Stdout, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CertificateForAnotherName_503NamingTheSans(bool http2)
    {
        using var certificates = new TestCertificates();
        var leaf = certificates.Issue("upstream", ["wrong.test"]);
        await using var upstream = await TlsUpstream.StartAsync("secure", leaf.Certificate);
        await using var herald = await StartAsync(upstream.Port, http2, TlsConfigJson.Upstream("upstream.test", certificates.CaPath, "upstream.test"));

        var curl = await Curl.RunAsync("-w", " %{http_code}", $"{herald.ListenerUrl("http")}/");

        Assert.EndsWith(" 503", curl.Stdout, StringComparison.Ordinal);
        Assert.Contains("TLS_error: CERTIFICATE_VERIFY_FAILED: no subject alternative name", curl.Stdout, StringComparison.Ordinal);
        Assert.Contains("DNS:wrong.test", curl.Stdout, StringComparison.Ordinal);
        var stats = await herald.Admin.GetStringAsync("stats");
        Assert.Matches(@"cluster\.secure\.upstream_cx_connect_fail: [1-9]", stats);
    }

    private static Task<HeraldProcess> StartAsync(int upstreamPort, bool http2, System.Text.Json.Nodes.JsonObject transportSocket) =>
        HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("http", o => o.Route("/", "secure"))
            .Cluster("secure", upstreamPort, http2: http2)
            .ClusterField("secure", "transport_socket", transportSocket));
}
