using System.Net;
using Herald.Proxy.Http.Http2;
using Xunit;

namespace Herald.Tests.Http.Http2;

public sealed class RequestMessagePoolTests
{
    private static readonly Uri First = new("http://127.0.0.1:8080/a");
    private static readonly Uri Second = new("http://127.0.0.1:8081/b?c=d");

    [Fact]
    public void Return_Reusable_NextRentGetsTheSameMessageWithoutTheLastRequestsHeadersOrBody()
    {
        var pool = new RequestMessagePool(4);
        var message = pool.Rent(HttpMethod.Post, First);
        message.Headers.TryAddWithoutValidation("x-tenant", "blue");
        message.Headers.TryAddWithoutValidation("Host", "first.example");
        var body = new RecordingContent();
        body.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        message.Content = body;

        pool.Return(message, reusable: true);

        Assert.True(body.Disposed);
        Assert.Equal(1, pool.Count);
        var again = pool.Rent(HttpMethod.Get, Second);
        Assert.Same(message, again);
        Assert.Equal(HttpMethod.Get, again.Method);
        Assert.Equal(Second, again.RequestUri);
        Assert.Empty(again.Headers);
        Assert.Null(again.Content);
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Return_NotReusable_DisposesTheMessageAndKeepsNothing()
    {
        var pool = new RequestMessagePool(4);
        var message = pool.Rent(HttpMethod.Get, First);
        var body = new RecordingContent();
        message.Content = body;

        pool.Return(message, reusable: false);

        Assert.True(body.Disposed);
        Assert.Equal(0, pool.Count);
        Assert.NotSame(message, pool.Rent(HttpMethod.Get, First));
    }

    [Fact]
    public void Return_PoolFull_KeepsAtMostItsCapacity()
    {
        var pool = new RequestMessagePool(2);
        var rented = Enumerable.Range(0, 5).Select(_ => pool.Rent(HttpMethod.Get, First)).ToList();

        foreach (var message in rented)
        {
            pool.Return(message, reusable: true);
        }

        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void Lease_Disposed_ReturnsTheMessage()
    {
        var pool = new RequestMessagePool(4);
        var message = pool.Rent(HttpMethod.Get, First);
        message.Version = HttpVersion.Version20;

        using (new RequestMessagePool.Lease(pool, message, reusable: true))
        {
            Assert.Equal(0, pool.Count);
        }

        Assert.Equal(1, pool.Count);
    }

    private sealed class RecordingContent : HttpContent
    {
        public bool Disposed { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => Task.CompletedTask;

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}
