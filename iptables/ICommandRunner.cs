namespace Herald.Iptables;

/// <summary>Runs the tools that read and change the kernel's rules; tests run them inside a network namespace.</summary>
public interface ICommandRunner
{
    CommandResult Run(string program, IReadOnlyList<string> args, string? stdin = null);
}
