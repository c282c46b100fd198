using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;

namespace Herald.Proxy.Listeners;

/// <summary>
/// Tells HTTP/1, HTTP/2 prior knowledge (h2c), TLS and anything else apart from the first
/// bytes of a connection, without consuming them: whoever handles the connection reads
/// them again. Decides as soon as the bytes allow, and never waits longer than the
/// timeout, so server-first protocols (MySQL, SMTP) do not stall.
/// </summary>
internal static class ProtocolSniffer
{
    // Longest registered method is 17 bytes; leave room for extension methods.
    private const int MaxMethodLength = 20;
    private const int HeadLength = 24;

    // Once a TLS record has begun, the client is not server-first: allow this long for the ClientHello.
    private static readonly TimeSpan ClientHelloTimeout = TimeSpan.FromSeconds(10);

    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    private enum Verdict
    {
        NeedMore,
        Decided,
    }

    public static ValueTask<SniffResult> SniffAsync(PipeReader input, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(time);
        var startTimestamp = time.GetTimestamp();
        var tlsStarted = false;

        // Fast path: when the bytes are already buffered, decide without a timer or a state machine.
        if (input.TryRead(out var read))
        {
            var buffer = read.Buffer;
            if (Classify(buffer, out var result) == Verdict.Decided || read.IsCompleted || read.IsCanceled || timeout <= TimeSpan.Zero)
            {
                input.AdvanceTo(buffer.Start);
                return new ValueTask<SniffResult>(result ?? Undecided(buffer));
            }

            tlsStarted = IsTlsStart(buffer);
            input.AdvanceTo(buffer.Start, buffer.End);
        }
        else if (timeout <= TimeSpan.Zero)
        {
            return new ValueTask<SniffResult>(SniffResult.Other);
        }

        return SniffSlowAsync(input, timeout, time, startTimestamp, tlsStarted, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<SniffResult> SniffSlowAsync(
        PipeReader input, TimeSpan timeout, TimeProvider time, long startTimestamp, bool tlsStarted, CancellationToken cancellationToken)
    {
        var deadline = new Deadline(input, time, startTimestamp, tlsStarted ? ClientHelloBudget(timeout) : timeout);
        deadline.Arm();
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(cancellationToken);
                var buffer = read.Buffer;
                var verdict = Classify(buffer, out var result);
                if (verdict == Verdict.Decided || read.IsCompleted)
                {
                    deadline.Finish();
                    input.AdvanceTo(buffer.Start);
                    return result ?? Undecided(buffer);
                }

                if (read.IsCanceled)
                {
                    // The deadline passed (or the owner cancelled the read): decide with what is there.
                    deadline.Finish();
                    input.AdvanceTo(buffer.Start);
                    if (!buffer.IsEmpty)
                    {
                        // These bytes were marked examined while waiting, so a plain read would wait for
                        // more; a pending cancellation makes the next read return them at once.
                        input.CancelPendingRead();
                    }

                    return Undecided(buffer);
                }

                if (!tlsStarted && IsTlsStart(buffer))
                {
                    // A client sending TLS is client-first: give the whole ClientHello a longer budget.
                    tlsStarted = true;
                    deadline.Extend(ClientHelloBudget(timeout));
                }

                // Not enough yet: mark everything examined so the next read waits for new bytes.
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            deadline.Finish();
        }
    }

    private static TimeSpan ClientHelloBudget(TimeSpan timeout) => timeout > ClientHelloTimeout ? timeout : ClientHelloTimeout;

    private static bool IsTlsStart(ReadOnlySequence<byte> buffer) =>
        buffer.Length >= 3 && TlsClientHelloParser.TryParse(buffer.Slice(0, 3), out _, out _) == ClientHelloParseStatus.NeedMoreData;

    /// <summary>The outcome when the bytes run out (end of stream or timeout) before a decision.</summary>
    private static SniffResult Undecided(ReadOnlySequence<byte> buffer)
    {
        // A well-formed TLS record header whose ClientHello did not arrive in full is still TLS.
        return IsTlsStart(buffer) ? SniffResult.TlsUnknown : SniffResult.Other;
    }

    private static Verdict Classify(ReadOnlySequence<byte> buffer, out SniffResult? result)
    {
        result = null;
        if (buffer.IsEmpty)
        {
            return Verdict.NeedMore;
        }

        Span<byte> head = stackalloc byte[HeadLength];
        var length = (int)Math.Min(buffer.Length, HeadLength);
        buffer.Slice(0, length).CopyTo(head);
        head = head[..length];

        if (head[0] == 0x16)
        {
            return ClassifyTls(buffer, out result);
        }

        if (head.SequenceEqual(Preface[..length]))
        {
            if (length < Preface.Length)
            {
                return Verdict.NeedMore;
            }

            result = SniffResult.Http2;
            return Verdict.Decided;
        }

        return ClassifyRequestLine(head, out result);
    }

    private static Verdict ClassifyTls(ReadOnlySequence<byte> buffer, out SniffResult? result)
    {
        switch (TlsClientHelloParser.TryParse(buffer, out var serverName, out var alpn))
        {
            case ClientHelloParseStatus.NeedMoreData:
                result = null;
                return Verdict.NeedMore;
            case ClientHelloParseStatus.Ok:
                result = serverName is null && alpn.Count == 0
                    ? SniffResult.TlsUnknown
                    : new SniffResult(DetectedProtocol.Tls, serverName, alpn);
                return Verdict.Decided;
            case ClientHelloParseStatus.Invalid:
                result = SniffResult.TlsUnknown;
                return Verdict.Decided;
            default:
                result = SniffResult.Other;
                return Verdict.Decided;
        }
    }

    /// <summary>An HTTP/1 request line starts with a method token and a space.</summary>
    private static Verdict ClassifyRequestLine(ReadOnlySpan<byte> head, out SniffResult? result)
    {
        result = SniffResult.Other;
        var space = -1;
        for (var i = 0; i < head.Length; i++)
        {
            var b = head[i];
            if (b == (byte)' ')
            {
                space = i;
                break;
            }

            if (i >= MaxMethodLength || !IsTokenChar(b))
            {
                return Verdict.Decided;
            }
        }

        if (space < 0)
        {
            result = null;
            return Verdict.NeedMore;
        }

        var method = head[..space];
        if (method.IsEmpty)
        {
            return Verdict.Decided;
        }

        if (IsRegisteredMethod(method))
        {
            result = SniffResult.Http1;
            return Verdict.Decided;
        }

        // An unregistered (extension) method counts only with an origin-form or asterisk
        // target, so text protocols such as "SET key value" are not taken for HTTP.
        if (space + 1 >= head.Length)
        {
            result = null;
            return Verdict.NeedMore;
        }

        var target = head[space + 1];
        if (IsUpperToken(method) && target is (byte)'/' or (byte)'*')
        {
            result = SniffResult.Http1;
        }

        return Verdict.Decided;
    }

    /// <summary>Methods of the IANA HTTP method registry.</summary>
    private static bool IsRegisteredMethod(ReadOnlySpan<byte> m)
    {
        return m.Length switch
        {
            3 => m.SequenceEqual("GET"u8) || m.SequenceEqual("PUT"u8) || m.SequenceEqual("ACL"u8) || m.SequenceEqual("PRI"u8),
            4 => m.SequenceEqual("POST"u8) || m.SequenceEqual("HEAD"u8) || m.SequenceEqual("COPY"u8) || m.SequenceEqual("LOCK"u8)
                || m.SequenceEqual("MOVE"u8) || m.SequenceEqual("BIND"u8) || m.SequenceEqual("LINK"u8),
            5 => m.SequenceEqual("PATCH"u8) || m.SequenceEqual("TRACE"u8) || m.SequenceEqual("MKCOL"u8) || m.SequenceEqual("MERGE"u8)
                || m.SequenceEqual("LABEL"u8) || m.SequenceEqual("QUERY"u8),
            6 => m.SequenceEqual("DELETE"u8) || m.SequenceEqual("UNLOCK"u8) || m.SequenceEqual("REPORT"u8) || m.SequenceEqual("SEARCH"u8)
                || m.SequenceEqual("REBIND"u8) || m.SequenceEqual("UNBIND"u8) || m.SequenceEqual("UNLINK"u8) || m.SequenceEqual("UPDATE"u8),
            7 => m.SequenceEqual("OPTIONS"u8) || m.SequenceEqual("CONNECT"u8) || m.SequenceEqual("CHECKIN"u8),
            8 => m.SequenceEqual("PROPFIND"u8) || m.SequenceEqual("CHECKOUT"u8),
            9 => m.SequenceEqual("PROPPATCH"u8),
            10 => m.SequenceEqual("MKACTIVITY"u8) || m.SequenceEqual("MKCALENDAR"u8) || m.SequenceEqual("UNCHECKOUT"u8)
                || m.SequenceEqual("ORDERPATCH"u8),
            11 => m.SequenceEqual("MKWORKSPACE"u8),
            13 => m.SequenceEqual("MKREDIRECTREF"u8),
            15 => m.SequenceEqual("VERSION-CONTROL"u8),
            16 => m.SequenceEqual("BASELINE-CONTROL"u8),
            17 => m.SequenceEqual("UPDATEREDIRECTREF"u8),
            _ => false,
        };
    }

    private static bool IsUpperToken(ReadOnlySpan<byte> method)
    {
        foreach (var b in method)
        {
            if (b is not ((>= (byte)'A' and <= (byte)'Z') or (byte)'-' or (byte)'_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 9110 tchar.</summary>
    private static bool IsTokenChar(byte b)
    {
        return b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
    }

    /// <summary>
    /// Cancels the pending read once the budget is spent, unless the sniff finished first.
    /// The timer re-arms itself when the budget was extended (or it fired early).
    /// </summary>
    private sealed class Deadline(PipeReader reader, TimeProvider time, long startTimestamp, TimeSpan budget)
    {
        private readonly Lock _lock = new();
        private ITimer? _timer;
        private TimeSpan _budget = budget;
        private bool _finished;

        public void Arm()
        {
            var timer = time.CreateTimer(static s => ((Deadline)s!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            lock (_lock)
            {
                _timer = timer;
            }

            timer.Change(_budget, Timeout.InfiniteTimeSpan);
        }

        public void Extend(TimeSpan budget)
        {
            lock (_lock)
            {
                _budget = budget;
            }
        }

        public void Finish()
        {
            ITimer? timer;
            lock (_lock)
            {
                _finished = true;
                timer = _timer;
                _timer = null;
            }

            timer?.Dispose();
        }

        private void Fire()
        {
            lock (_lock)
            {
                if (_finished || _timer is null)
                {
                    return;
                }

                var remaining = _budget - time.GetElapsedTime(startTimestamp);
                if (remaining > TimeSpan.Zero)
                {
                    _timer.Change(remaining, Timeout.InfiniteTimeSpan);
                    return;
                }

                reader.CancelPendingRead();
            }
        }
    }
}
