using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds;
using Herald.Xds.Client;
using Xunit;
using static Herald.Tests.Xds.Client.AdsTestResources;

namespace Herald.Tests.Xds.Client;

/// <summary>SDS over ADS: listeners whose TLS contexts name secrets.</summary>
public sealed class AdsClientSecretTests
{
    private const string Lds = XdsTypeUrls.Listener;
    private const string Sds = XdsTypeUrls.Secret;

    [Fact]
    public async Task ListenerNamingSecrets_WaitsForThemThenAppliesWithThem()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();

        var n1 = await stream.SendAsync(Lds, "1", TlsListener("l1", "cert-a", "cert-b"));
        await stream.ExpectAsync(Lds, "1", n1);
        await stream.ExpectAsync(Sds, "", "", ["cert-a", "cert-b"]);
        Assert.Equal(0, h.Target.Offers);

        var n2 = await stream.SendAsync(Sds, "1", Secret("cert-a"));
        await stream.ExpectAsync(Sds, "1", n2, ["cert-a", "cert-b"]);
        Assert.Equal(0, h.Target.Offers);

        var n3 = await stream.SendAsync(Sds, "2", Secret("cert-a"), Secret("cert-b"));
        await stream.ExpectAsync(Sds, "2", n3, ["cert-a", "cert-b"]);
        Assert.Equal(["l1"], h.Target.Current.Listeners.Keys);
        Assert.Equal(["cert-a", "cert-b"], h.Target.Current.Secrets.Keys.Order());
        Assert.Equal("2", h.Target.Current.VersionsByTypeUrl[Sds]);
    }

    [Fact]
    public async Task SecretUpdated_DataPlaneGetsTheNewOne_AndARefusalIsNackedKeepingTheOld()
    {
        await using var h = new AdsClientHarness();
        var stream = await h.StartSotwAsync();
        var n1 = await stream.SendAsync(Lds, "1", TlsListener("l1", "cert-a"));
        await stream.ExpectAsync(Lds, "1", n1);
        await stream.ExpectAsync(Sds, "", "", ["cert-a"]);
        var n2 = await stream.SendAsync(Sds, "1", Secret("cert-a", "first"));
        await stream.ExpectAsync(Sds, "1", n2, ["cert-a"]);

        var n3 = await stream.SendAsync(Sds, "2", Secret("cert-a", "second"));
        await stream.ExpectAsync(Sds, "2", n3, ["cert-a"]);
        Assert.Equal("second", h.Target.Current.Secrets["cert-a"].TlsCertificate.CertificateChain.InlineString);

        h.Target.Decide = _ => XdsApplyResult.Refused("cannot load the certificate");
        var n4 = await stream.SendAsync(Sds, "3", Secret("cert-a", "broken"));
        var nack = await stream.ExpectAsync(Sds, "2", n4, ["cert-a"], nack: true);

        Assert.Contains("cannot load the certificate", nack.ErrorDetail.Message, StringComparison.Ordinal);
        Assert.Equal("second", h.Target.Current.Secrets["cert-a"].TlsCertificate.CertificateChain.InlineString);
    }

    private static Listener TlsListener(string name, params string[] secrets)
    {
        var listener = Listener(name);
        var common = new CommonTlsContext();
        foreach (var secret in secrets)
        {
            common.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig { Name = secret, SdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } });
        }

        listener.FilterChains[0].TransportSocket = new TransportSocket
        {
            Name = "envoy.transport_sockets.tls",
            TypedConfig = Any.Pack(new DownstreamTlsContext { CommonTlsContext = common }),
        };
        return listener;
    }

    private static Secret Secret(string name, string chain = "pem") => new()
    {
        Name = name,
        TlsCertificate = new TlsCertificate
        {
            CertificateChain = new DataSource { InlineString = chain },
            PrivateKey = new DataSource { InlineString = "key" },
        },
    };
}
