using Herald.Proxy.Activation;
using Xunit;

namespace Herald.Tests.Activation;

public sealed class ActivationPolicyTests
{
    [Fact]
    public void Validate_Defaults_Passes()
    {
        var policy = new ActivationPolicy();

        policy.Validate();

        Assert.Equal(TimeSpan.FromSeconds(30), policy.HoldTimeout);
        Assert.Equal(10_000, policy.QueueDepth);
        Assert.Equal(0, policy.EndpointConcurrency);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Validate_HoldTimeoutNotPositive_Throws(int seconds)
    {
        var policy = new ActivationPolicy { HoldTimeout = TimeSpan.FromSeconds(seconds) };

        Assert.Throws<ArgumentOutOfRangeException>(policy.Validate);
    }

    [Fact]
    public void Validate_HoldTimeoutInfinite_Throws()
    {
        var policy = new ActivationPolicy { HoldTimeout = Timeout.InfiniteTimeSpan };

        Assert.Throws<ArgumentOutOfRangeException>(policy.Validate);
    }

    [Fact]
    public void Validate_HoldTimeoutAboveMaximum_Throws()
    {
        var policy = new ActivationPolicy { HoldTimeout = ActivationPolicy.MaxHoldTimeout + TimeSpan.FromSeconds(1) };

        Assert.Throws<ArgumentOutOfRangeException>(policy.Validate);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Validate_QueueDepthBelowOne_Throws(int depth)
    {
        var policy = new ActivationPolicy { QueueDepth = depth };

        Assert.Throws<ArgumentOutOfRangeException>(policy.Validate);
    }

    [Fact]
    public void Validate_NegativeEndpointConcurrency_Throws()
    {
        var policy = new ActivationPolicy { EndpointConcurrency = -1 };

        Assert.Throws<ArgumentOutOfRangeException>(policy.Validate);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/demand")]
    [InlineData("/relative/demand")]
    public void Validate_WebhookNotHttp_Throws(string url)
    {
        var policy = new ActivationPolicy { Webhook = new Uri(url, UriKind.RelativeOrAbsolute) };

        Assert.Throws<ArgumentException>(policy.Validate);
    }

    [Fact]
    public void Validate_ControlPlaneNotHttp_Throws()
    {
        var policy = new ActivationPolicy { ControlPlane = new Uri("file:///tmp/demand") };

        Assert.Throws<ArgumentException>(policy.Validate);
    }
}
