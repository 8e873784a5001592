"""What the processor can do natively, for choices that depend on it (``--fast``, the benchmark's report)."""
import functools
import platform

BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16', 'amx_tile')


@functools.lru_cache(maxsize=1)
def cpu_info():
    """``{'cpu': model name, 'cpu_bf16': the native bf16 flags present}``, read from /proc/cpuinfo where it exists."""
    try:
        with open('/proc/cpuinfo') as f:
            text = f.read()
    except OSError:
        return {'cpu': platform.processor(), 'cpu_bf16': []}
    lines = text.splitlines()
    names = [line.split(':', 1)[1].strip() for line in lines if line.startswith('model name')]
    flags = next((line.split(':', 1)[1].split() for line in lines if line.startswith('flags')), [])
    return {'cpu': names[0] if names else platform.processor(), 'cpu_bf16': [f for f in BF16_CPU_FLAGS if f in flags]}


def cpu_has_native_bf16():
    """True when bf16 arithmetic runs on the CPU's own instructions (AVX-512 BF16 or AMX); elsewhere oneDNN
    emulates it and bf16 is slower than fp32."""
    return bool(cpu_info()['cpu_bf16'])
