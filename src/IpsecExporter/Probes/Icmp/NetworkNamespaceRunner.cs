using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace IpsecExporter.Probes.Icmp;

/// <summary>
/// Creates objects (sockets) inside another network namespace. setns(2) moves only the calling thread, and a socket
/// keeps the namespace it was created in, so a short-lived thread joins the namespace, creates, and exits: no thread
/// of the pool ever leaves the process's own namespace. Needs CAP_SYS_ADMIN (root).
/// </summary>
internal static partial class NetworkNamespaceRunner
{
    private const int CloneNewNet = 0x40000000;

    public static T Run<T>(string namespacePath, Func<T> create)
    {
        T? result = default;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var target = File.OpenHandle(namespacePath);
                if (SetNamespace(target.DangerousGetHandle().ToInt32(), CloneNewNet) != 0)
                {
                    throw new IOException($"cannot enter network namespace {namespacePath}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }

                result = create();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "netns-open",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNamespace(int fd, int namespaceType);
}
