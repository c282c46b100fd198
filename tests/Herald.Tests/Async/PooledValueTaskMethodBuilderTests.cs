using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Herald.Proxy.Async;
using Xunit;

namespace Herald.Tests.Async;

public sealed class PooledValueTaskMethodBuilderTests
{
    private static readonly AsyncLocal<string?> Flowing = new();

    [Fact]
    public async Task Await_NeverSuspends_ResultWithoutABox()
    {
        var task = AddAsync(Gate.Completed(20), 22);

        Assert.True(task.IsCompletedSuccessfully);
        Assert.Equal(42, await task);
    }

    [Fact]
    public async Task Await_Suspends_ResultOnceTheAwaitedCompletes()
    {
        var gate = new Gate();

        var task = AddAsync(gate, 2);
        Assert.False(task.IsCompleted);
        gate.Complete(40);

        Assert.Equal(42, await task);
    }

    [Fact]
    public async Task Await_ManyInFlight_EachCallGetsItsOwnResult()
    {
        // More calls in flight than the pool keeps, twice over: boxes are never shared.
        var gates = Enumerable.Range(0, PooledValueTaskBox<int>.PoolCapacity * 2).Select(_ => new Gate()).ToArray();
        var tasks = gates.Select((gate, i) => AddAsync(gate, i).AsTask()).ToArray();

        Parallel.For(0, gates.Length, i => gates[i].Complete(1_000_000));

        var results = await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(1_000_000, gates.Length), results);
    }

    [Fact]
    public void Await_RoundsOfCallsInFlight_LaterRoundsReuseTheFirstRoundsBoxes()
    {
        // 100 requests in flight, again and again: the runtime's pooling builder keeps one box
        // per thread and one per core, so it made ~100 new boxes every round.
        RunRound();
        var created = BoxesCreatedFor(nameof(AddAsync));

        for (var round = 0; round < 20; round++)
        {
            RunRound();
        }

        Assert.Equal(created, BoxesCreatedFor(nameof(AddAsync)));

        static void RunRound()
        {
            var gates = Enumerable.Range(0, 100).Select(_ => new Gate()).ToArray();
            var tasks = gates.Select((gate, i) => AddAsync(gate, i)).ToArray();
            for (var i = 0; i < gates.Length; i++)
            {
                gates[i].Complete(1);
            }

            for (var i = 0; i < tasks.Length; i++)
            {
                Assert.Equal(i + 1, tasks[i].GetAwaiter().GetResult());
            }
        }
    }

    [Fact]
    public void Await_SuspendedCallsRepeated_BoxesReused()
    {
        var gate = new Gate();
        RunOnce(gate);
        var created = BoxesCreatedFor(nameof(AddAsync));

        for (var i = 0; i < 10_000; i++)
        {
            RunOnce(gate);
        }

        // The runtime's pooling builder made a new box for most suspensions once more calls
        // were in flight than it caches; one after another, every call here reuses the first.
        Assert.Equal(created, BoxesCreatedFor(nameof(AddAsync)));

        static void RunOnce(Gate gate)
        {
            var task = AddAsync(gate, 1);
            gate.Complete(1);
            Assert.Equal(2, task.GetAwaiter().GetResult());
            gate.Reset();
        }
    }

    [Fact]
    public async Task Throw_BeforeSuspending_FaultedValueTask()
    {
        var task = ThrowAsync(suspendFirst: null);

        Assert.True(task.IsFaulted);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await task);
        Assert.Equal("early", error.Message);
    }

    [Fact]
    public async Task Throw_AfterSuspending_AwaiterSeesTheException()
    {
        var gate = new Gate();

        var task = ThrowAsync(gate);
        gate.Complete(0);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await task);
        Assert.Equal("late", error.Message);
    }

    [Fact]
    public async Task Resume_OnAnotherThread_ExecutionContextFlows()
    {
        var gate = new Gate();
        Flowing.Value = "request-7";

        var task = ReadFlowingAsync(gate);
        Flowing.Value = null;
        var completer = new Thread(() => gate.Complete(0));
        completer.Start();
        completer.Join();

        Assert.Equal("request-7", await task);
    }

    // Without the test runner's synchronization context the continuation runs inline, as
    // on Herald's socket threads.
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AddAsync(Gate gate, int addend) => await gate.WaitAsync().ConfigureAwait(false) + addend;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ThrowAsync(Gate? suspendFirst)
    {
        if (suspendFirst is null)
        {
            throw new InvalidOperationException("early");
        }

        await suspendFirst.WaitAsync();
        throw new InvalidOperationException("late");
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string?> ReadFlowingAsync(Gate gate)
    {
        await gate.WaitAsync();
        return Flowing.Value;
    }

    /// <summary>A reusable awaitable completed by hand, so the tests decide when a call suspends.</summary>
    private sealed class Gate : IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _core;

        public static Gate Completed(int value)
        {
            var gate = new Gate();
            gate.Complete(value);
            return gate;
        }

        public ValueTask<int> WaitAsync() => new(this, _core.Version);

        public void Complete(int value) => _core.SetResult(value);

        public void Reset() => _core.Reset();

        public int GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    private static int BoxesCreatedFor(string method)
    {
        var stateMachine = typeof(PooledValueTaskMethodBuilderTests).GetNestedTypes(BindingFlags.NonPublic)
            .Single(t => t.Name.StartsWith($"<{method}>", StringComparison.Ordinal));
        var box = typeof(PooledValueTaskBox<,>).MakeGenericType(stateMachine, typeof(int));
        return (int)box.GetProperty("CreatedCount", BindingFlags.Static | BindingFlags.NonPublic)!.GetValue(null)!;
    }
}
