using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Activation;
using Herald.Proxy.Config;
using Herald.Proxy.Upstream;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;
using Xunit;

namespace Herald.Tests.Activation;

public sealed class ActivationPolicyTranslatorTests
{
    private const string P = "clusters[0].metadata";
    private const string Key = P + ".filter_metadata[\"herald.activation\"]";

    [Fact]
    public void Translate_NoMetadata_IsNoPolicy()
    {
        Assert.Null(ActivationPolicyTranslator.Translate(null, P));
        Assert.Null(ActivationPolicyTranslator.Translate(Metadata("istio", new Struct()), P));
    }

    [Fact]
    public void Translate_EmptyPolicy_HasDefaults()
    {
        var policy = ActivationPolicyTranslator.Translate(Metadata(ActivationPolicyTranslator.MetadataKey, new Struct()), P)!;

        Assert.Equal(TimeSpan.FromSeconds(30), policy.HoldTimeout);
        Assert.Equal(10_000, policy.QueueDepth);
        Assert.Equal(0, policy.EndpointConcurrency);
        Assert.Null(policy.Webhook);
        Assert.Null(policy.ControlPlane);
    }

    [Fact]
    public void Translate_AllSettings_AreRead()
    {
        var settings = new Struct
        {
            Fields =
            {
                ["hold_timeout"] = Value.ForString("1500ms"),
                ["queue_depth"] = Value.ForNumber(100),
                ["endpoint_concurrency"] = Value.ForNumber(4),
                ["webhook"] = Value.ForString("http://127.0.0.1:9/demand"),
                ["control_plane"] = Value.ForString("http://10.0.0.1:15012/v1/demand"),
            },
        };

        var policy = ActivationPolicyTranslator.Translate(Metadata(ActivationPolicyTranslator.MetadataKey, settings), P)!;

        Assert.Equal(TimeSpan.FromMilliseconds(1500), policy.HoldTimeout);
        Assert.Equal(100, policy.QueueDepth);
        Assert.Equal(4, policy.EndpointConcurrency);
        Assert.Equal(new Uri("http://127.0.0.1:9/demand"), policy.Webhook);
        Assert.Equal(new Uri("http://10.0.0.1:15012/v1/demand"), policy.ControlPlane);
    }

    [Theory]
    [InlineData("hold_timeout", "forever")]
    [InlineData("hold_timeout", "2h")]
    [InlineData("queue_depth", 0)]
    [InlineData("queue_depth", 2.5)]
    [InlineData("endpoint_concurrency", -1)]
    [InlineData("webhook", "ftp://x/")]
    [InlineData("webhook", 3)]
    [InlineData("queue_length", 3)]
    public void Translate_BadSetting_ThrowsNamingIt(string key, object value)
    {
        var settings = new Struct { Fields = { [key] = value is string s ? Value.ForString(s) : Value.ForNumber(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)) } };

        var error = Assert.Throws<ConfigException>(() => ActivationPolicyTranslator.Translate(Metadata(ActivationPolicyTranslator.MetadataKey, settings), P));

        Assert.Equal($"{Key}.{key}", error.FieldPath);
    }

    [Fact]
    public void ClusterTranslator_MetadataWithPolicy_CarriesIt()
    {
        var cluster = new EnvoyCluster
        {
            Name = "outbound|8080||cold",
            Type = EnvoyCluster.Types.DiscoveryType.Static,
            Metadata = Metadata(ActivationPolicyTranslator.MetadataKey, new Struct { Fields = { ["queue_depth"] = Value.ForNumber(7) } }),
        };

        Assert.Equal(7, ClusterTranslator.Translate(cluster, "clusters[0]").Activation?.QueueDepth);
    }

    private static Metadata Metadata(string key, Struct value) => new() { FilterMetadata = { [key] = value } };
}
