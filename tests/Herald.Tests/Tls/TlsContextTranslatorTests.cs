using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Proxy.Tls;
using Herald.Tests.TestSupport.Tls;
using Xunit;

namespace Herald.Tests.Tls;

public sealed class TlsContextTranslatorTests
{
    private const string P = "filter_chains[0]";

    [Fact]
    public void TranslateDownstream_InlinePemAndAlpnAndVersions_Honoured()
    {
        using var certificates = new TestCertificates();
        var leaf = certificates.Issue("a", ["a.test", "*.b.test"]);
        var context = Context(leaf);
        context.CommonTlsContext.AlpnProtocols.Add(["h2", "http/1.1"]);
        context.CommonTlsContext.TlsParams = new TlsParameters { TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv13 };

        var config = TlsContextTranslator.TranslateDownstream(Socket(context), P, null, TimeProvider.System)!;

        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, config.Protocols);
        Assert.Equal(["h2", "http/1.1"], config.ApplicationProtocols.Select(p => p.ToString()));
        Assert.NotNull(config.OptionsFor("x.b.test"));
        Assert.True(config.Certificates[0].Current!.Serves("x.b.test"));
        Assert.False(config.Certificates[0].Current!.Serves("a.b.c.test"));
    }

    [Fact]
    public void TranslateDownstream_Tls10_RefusedNamingTheField()
    {
        using var certificates = new TestCertificates();
        var context = Context(certificates.Issue("a", ["a.test"]));
        context.CommonTlsContext.TlsParams = new TlsParameters { TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv10 };

        var error = Assert.Throws<ConfigException>(() => TlsContextTranslator.TranslateDownstream(Socket(context), P, null, TimeProvider.System));

        Assert.Equal($"{P}.transport_socket.typed_config.common_tls_context.tls_params.tls_minimum_protocol_version", error.FieldPath);
    }

    [Fact]
    public void TranslateDownstream_MissingCertificateFile_RefusedNamingCertificateChain()
    {
        var context = new DownstreamTlsContext { CommonTlsContext = new CommonTlsContext() };
        context.CommonTlsContext.TlsCertificates.Add(new Envoy.Extensions.TransportSockets.Tls.V3.TlsCertificate
        {
            CertificateChain = new DataSource { Filename = "/nonexistent/cert.pem" },
            PrivateKey = new DataSource { Filename = "/nonexistent/key.pem" },
        });

        var error = Assert.Throws<ConfigException>(() => TlsContextTranslator.TranslateDownstream(Socket(context), P, null, TimeProvider.System));

        Assert.EndsWith("tls_certificates[0].certificate_chain", error.FieldPath, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/cert.pem", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TranslateDownstream_RequireClientCertificateWithoutTrustedCa_Refused()
    {
        using var certificates = new TestCertificates();
        var context = Context(certificates.Issue("a", ["a.test"]));
        context.RequireClientCertificate = true;

        var error = Assert.Throws<ConfigException>(() => TlsContextTranslator.TranslateDownstream(Socket(context), P, null, TimeProvider.System));

        Assert.EndsWith("require_client_certificate", error.FieldPath, StringComparison.Ordinal);
    }

    [Fact]
    public void TranslateDownstream_SdsFromAFile_RefusedWithTheAlternative()
    {
        var context = new DownstreamTlsContext { CommonTlsContext = new CommonTlsContext() };
        context.CommonTlsContext.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig
        {
            Name = "cert",
            SdsConfig = new ConfigSource { PathConfigSource = new PathConfigSource { Path = "/etc/sds.yaml" } },
        });

        var error = Assert.Throws<ConfigException>(() => TlsContextTranslator.TranslateDownstream(Socket(context), P, null, TimeProvider.System));

        Assert.EndsWith("sds_config.path_config_source", error.FieldPath, StringComparison.Ordinal);
    }

    [Fact]
    public void TranslateDownstream_SdsSecret_UsesTheSecretsCertificate()
    {
        using var certificates = new TestCertificates();
        var leaf = certificates.Issue("a", ["a.test"]);
        var context = new DownstreamTlsContext { CommonTlsContext = new CommonTlsContext() };
        context.CommonTlsContext.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig { Name = "cert", SdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } });
        var secret = new Secret
        {
            Name = "cert",
            TlsCertificate = new Envoy.Extensions.TransportSockets.Tls.V3.TlsCertificate
            {
                CertificateChain = new DataSource { InlineString = leaf.CertificatePem },
                PrivateKey = new DataSource { InlineString = leaf.KeyPem },
            },
        };

        var known = TlsContextTranslator.TranslateDownstream(Socket(context), P, name => name == "cert" ? secret : null, TimeProvider.System)!;
        var missing = TlsContextTranslator.TranslateDownstream(Socket(context), P, _ => null, TimeProvider.System)!;

        Assert.Equal(leaf.Serial, known.Certificates[0].Current!.Leaf.SerialNumber);
        Assert.Null(missing.OptionsFor("a.test"));
    }

    [Fact]
    public void TranslateUpstream_SanMatchers_CheckUriAndDns()
    {
        using var certificates = new TestCertificates();
        var leaf = certificates.Issue("svc", ["svc.test"], uris: ["spiffe://mesh/ns/default/sa/svc"]);
        var context = new UpstreamTlsContext
        {
            Sni = "svc.test",
            CommonTlsContext = new CommonTlsContext
            {
                ValidationContext = new CertificateValidationContext { TrustedCa = new DataSource { Filename = certificates.CaPath } },
            },
        };
        context.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Add(new Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher
        {
            SanType = Envoy.Extensions.TransportSockets.Tls.V3.SubjectAltNameMatcher.Types.SanType.Uri,
            Matcher = new Envoy.Type.Matcher.V3.StringMatcher { Prefix = "spiffe://mesh/" },
        });

        var config = TlsContextTranslator.TranslateUpstream(Socket(context), "clusters[0]", TimeProvider.System)!;

        Assert.Equal("svc.test", config.Sni);
        Assert.True(config.Validation!.Validate(leaf.Certificate, null, out var failure), failure);
        var stranger = certificates.Issue("other", ["other.test"], uris: ["spiffe://elsewhere/x"]);
        Assert.False(config.Validation.Validate(stranger.Certificate, null, out failure));
        Assert.Contains("URI:spiffe://elsewhere/x", failure, StringComparison.Ordinal);
    }

    private static DownstreamTlsContext Context(TestCertificates.Leaf leaf)
    {
        var context = new DownstreamTlsContext { CommonTlsContext = new CommonTlsContext() };
        context.CommonTlsContext.TlsCertificates.Add(new Envoy.Extensions.TransportSockets.Tls.V3.TlsCertificate
        {
            CertificateChain = new DataSource { InlineString = leaf.CertificatePem },
            PrivateKey = new DataSource { InlineString = leaf.KeyPem },
        });
        return context;
    }

    private static TransportSocket Socket(Google.Protobuf.IMessage context) => new()
    {
        Name = TlsContextTranslator.TlsSocketName,
        TypedConfig = Any.Pack(context),
    };
}
