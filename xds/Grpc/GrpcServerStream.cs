using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Herald.Xds.Streams;
using Microsoft.AspNetCore.Http;

namespace Herald.Xds.Grpc;

/// <summary>
/// The server's side of a call: request messages in, response messages out, each flushed as
/// it is written (Kestrel sends the response headers with the first one).
/// </summary>
internal sealed class GrpcServerStream<TReq, TResp> : IMessageStream<TReq, TResp>
    where TReq : class, IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private readonly HttpContext _context;
    private readonly MessageParser<TReq> _parser;
    private readonly int _maxReceiveMessageSize;
    private readonly CancellationToken _callToken;
    private bool _writesCompleted;

    public GrpcServerStream(HttpContext context, MessageParser<TReq> parser, int maxReceiveMessageSize, CancellationToken callToken)
    {
        _context = context;
        _parser = parser;
        _maxReceiveMessageSize = maxReceiveMessageSize;
        _callToken = callToken;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TReq?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await GrpcFraming.ReadMessageAsync(_context.Request.BodyReader, _parser, _maxReceiveMessageSize, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // Kestrel reports a client's RST_STREAM (or a lost connection) as an I/O error.
            throw new GrpcException(new GrpcStatus(GrpcStatusCode.Cancelled, "the client cancelled the call"), null, e);
        }
    }

    public ValueTask WriteAsync(TResp message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_writesCompleted)
        {
            throw new InvalidOperationException("the response stream was completed");
        }

        var writer = _context.Response.BodyWriter;
        GrpcFraming.WriteMessage(writer, message);
        var flush = writer.FlushAsync(cancellationToken.CanBeCanceled ? cancellationToken : _callToken);
        return flush.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitFlushAsync(flush);
    }

    /// <summary>No more messages; the status goes out when the handler returns.</summary>
    public ValueTask CompleteAsync()
    {
        _writesCompleted = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        var result = await flush.ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("the response flush was cancelled");
        }
    }
}
