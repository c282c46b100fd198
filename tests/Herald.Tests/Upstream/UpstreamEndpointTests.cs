using Xunit;

namespace Herald.Tests.Upstream;

public sealed class UpstreamEndpointTests
{
    [Fact]
    public void RequestUri_SamePathAgain_SameUriReused()
    {
        var endpoint = UpstreamTestData.Endpoint("10.0.0.1", 8080);

        var first = endpoint.RequestUri("/pkg.Service/Method");
        var again = endpoint.RequestUri("/pkg.Service/Method");

        Assert.Equal("http://10.0.0.1:8080/pkg.Service/Method", first.OriginalString);
        Assert.Same(first, again);
    }

    [Theory]
    [InlineData("/pkg.Service/Method", "/pkg.Service/Other")]
    [InlineData("/a", "/a?b=1")]
    [InlineData("/a?b=1", "/a")]
    [InlineData("/", "/x")]
    public void RequestUri_OtherPath_ItsOwnUri(string before, string after)
    {
        var endpoint = UpstreamTestData.Endpoint("10.0.0.1", 8080);

        endpoint.RequestUri(before);
        var uri = endpoint.RequestUri(after);

        Assert.Equal("http://10.0.0.1:8080" + after, uri.OriginalString);
        Assert.Equal(after, uri.PathAndQuery);
    }
}
