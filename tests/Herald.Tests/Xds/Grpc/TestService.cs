using Google.Protobuf.WellKnownTypes;
using Herald.Xds.Grpc;

namespace Herald.Tests.Xds.Grpc;

/// <summary>
/// Herald's implementation of node/test-schema.js's Test service (same behaviour as node/server.js),
/// recording what the handlers saw.
/// </summary>
internal sealed class TestService
{
    public const string Echo = "/herald.grpctest.Test/Echo";
    public const string Chat = "/herald.grpctest.Test/Chat";

    /// <summary>Set when a "sleep:" Echo ends: whether it had a deadline and its token fired.</summary>
    public TaskCompletionSource<(bool HadDeadline, bool Cancelled)> SleepEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a Chat handler saw its call cancelled.</summary>
    public TaskCompletionSource ChatCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GrpcServiceRegistry CreateRegistry(int maxReceiveMessageSize = 4 * 1024 * 1024) =>
        new GrpcServiceRegistry { MaxReceiveMessageSize = maxReceiveMessageSize }
            .MapUnary<StringValue, StringValue>(Echo, StringValue.Parser, EchoAsync)
            .MapDuplex<StringValue, StringValue>(Chat, StringValue.Parser, ChatAsync);

    private async Task<StringValue> EchoAsync(StringValue request, GrpcServerCallContext context)
    {
        foreach (var header in context.RequestHeaders)
        {
            if (header.Key.StartsWith("x-", StringComparison.Ordinal))
            {
                context.ResponseHeaders[header.Key] = header.Value;
            }
        }

        if (request.Value.StartsWith("fail:", StringComparison.Ordinal))
        {
            throw new GrpcException(
                new GrpcStatus(GrpcStatusCode.InvalidArgument, request.Value["fail:".Length..]),
                [new("x-detail", "detail")],
                null);
        }

        if (request.Value == "crash")
        {
            throw new InvalidOperationException("secret internals");
        }

        context.ResponseTrailers.Add(new("x-served-by", "herald"));
        if (request.Value.StartsWith("sleep:", StringComparison.Ordinal))
        {
            try
            {
                await Task.Delay(int.Parse(request.Value["sleep:".Length..], System.Globalization.CultureInfo.InvariantCulture), context.CancellationToken);
            }
            finally
            {
                SleepEnded.TrySetResult((context.Deadline is not null, context.CancellationToken.IsCancellationRequested));
            }

            return new StringValue { Value = "late" };
        }

        return new StringValue { Value = "echo:" + request.Value };
    }

    private async Task ChatAsync(Herald.Xds.Streams.IMessageStream<StringValue, StringValue> stream, GrpcServerCallContext context)
    {
        using var registration = context.CancellationToken.Register(() => ChatCancelled.TrySetResult());
        var count = 0;
        while (await stream.ReadAsync(context.CancellationToken) is { } message)
        {
            if (message.Value == "fail")
            {
                throw new GrpcException(GrpcStatusCode.Aborted, "chat failed");
            }

            count++;
            await stream.WriteAsync(message, context.CancellationToken);
        }

        context.ResponseTrailers.Add(new("x-count", count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
