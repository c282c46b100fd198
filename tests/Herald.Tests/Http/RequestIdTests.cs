using Herald.Proxy.Http;
using Xunit;

namespace Herald.Tests.Http;

public sealed class RequestIdTests
{
    [Fact]
    public void NewString_Called_RandomVersion4Uuid()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => RequestId.NewString()).ToList();

        Assert.All(ids, id =>
        {
            Assert.Equal(RequestId.Length, id.Length);
            var parsed = Guid.ParseExact(id, "D");
            Assert.Equal(4, parsed.Version);
            Assert.Equal(id, parsed.ToString("D"));
        });
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }
}
