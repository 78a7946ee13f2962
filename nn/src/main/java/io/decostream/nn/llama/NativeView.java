package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A direct view of a CPU tensor's memory (weights, KV cache, RoPE tables) for the decode kernels
 * (issue 20 point 2), with vector loads by address.
 *
 * <p>Why not {@code FloatVector.fromByteBuffer} alone: in Java 17 each such load goes through
 * {@code ScopedMemoryAccess} with a base object (the buffer's heap array) that C2 cannot prove
 * null, so every load is fenced as an access of unknown memory and is not scheduled with its
 * neighbours. The decode kernel then read weights held in L2 at 31-40 GB/s on one thread, where the
 * same loop over a heap array, or over loads by address, read 60-73 GB/s. That is what a model
 * whose weights stay in cache decodes at (the shipped demo model's Llama is 2 MB: 1477-1569 tok/s
 * at 2 threads through fromByteBuffer, 2194-2302 by address); a model streamed from memory is held
 * by the memory either way (docs/benchmark.md).
 *
 * <p>The load by address is the one {@code fromByteBuffer} itself ends in ({@code
 * jdk.internal.vm.vector.VectorSupport.load}, here with a null base, so C2 knows it is off-heap),
 * reached through a constant method handle so that the code compiles and runs on any JDK. It needs
 * {@code --add-exports java.base/jdk.internal.vm.vector=ALL-UNNAMED}, which {@code ./deco}, the
 * test runners and the stage launchers pass. Without it, on a JDK whose {@code VectorSupport}
 * differs, or with {@code -Ddeco.decode.nativeLoads=false}, every load is {@code fromByteBuffer}'s:
 * the same values, slower. Loads by address are not bounds-checked: each kernel checks its range
 * once per call ({@link #checkRange}).
 */
final class NativeView {

  private static final Logger LOG = LoggerFactory.getLogger(NativeView.class);
  static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  /** (long address, ByteBuffer view, int offset) FloatVector, or null: loads by address. */
  private static final MethodHandle LOAD_FLOATS;

  /** The same for IntVector (F16 rows, two halves per lane). */
  private static final MethodHandle LOAD_INTS;

  /** Whether loads go by address (else through {@code fromByteBuffer}). */
  static final boolean BY_ADDRESS;

  static {
    MethodHandle floats = null;
    MethodHandle ints = null;
    if (!"false".equalsIgnoreCase(System.getProperty("deco.decode.nativeLoads"))) {
      try {
        floats = loadHandle(F, FloatVector.class);
        ints = loadHandle(I, IntVector.class);
        probe(floats, ints);
      } catch (Throwable e) { // any JDK or launch that does not allow it: the checked path
        floats = null;
        ints = null;
        LOG.info(
            "decode reads weights through ByteBuffer vector loads ({}); start the JVM with"
                + " --add-exports java.base/jdk.internal.vm.vector=ALL-UNNAMED for loads by"
                + " address",
            e.toString());
      }
    }
    LOAD_FLOATS = floats;
    LOAD_INTS = ints;
    BY_ADDRESS = floats != null;
  }

  final ByteBuffer buf;
  final long address;

  private NativeView(ByteBuffer buf) {
    this.buf = buf.order(LE);
    this.address = BY_ADDRESS ? Address.of(buf) : 0;
  }

  /** A view of a contiguous CPU tensor's memory (no copy). */
  static NativeView of(NDArray a) {
    return of(a.toByteBuffer(true));
  }

  /** A view of a direct buffer's memory from its position 0. */
  static NativeView of(ByteBuffer direct) {
    if (!direct.isDirect()) {
      throw new IllegalArgumentException("a native view needs a direct buffer");
    }
    return new NativeView(direct);
  }

  /** Throws unless bytes {@code from .. from+size-1} lie inside the view. */
  void checkRange(int from, int size) {
    Objects.checkFromIndexSize(from, size, buf.capacity());
  }

  /** The vector of floats at byte {@code offset} (unchecked when by address: see checkRange). */
  FloatVector floats(int offset) {
    if (BY_ADDRESS) {
      try {
        return (FloatVector) LOAD_FLOATS.invokeExact(address + offset, buf, offset);
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    }
    return FloatVector.fromByteBuffer(F, buf, offset, LE);
  }

  /** The vector of ints at byte {@code offset} (unchecked when by address: see checkRange). */
  IntVector ints(int offset) {
    if (BY_ADDRESS) {
      try {
        return (IntVector) LOAD_INTS.invokeExact(address + offset, buf, offset);
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    }
    return IntVector.fromByteBuffer(I, buf, offset, LE);
  }

  float getFloat(int offset) {
    return buf.getFloat(offset);
  }

  /**
   * The float at byte {@code offset}, read by address when vector loads are (unchecked: see
   * checkRange). A scalar {@code ByteBuffer.getFloat} checks the buffer's bounds and scope on each
   * call: a prompt's attention ({@link DecodeKernels#attendLanes}), which reads every key and value
   * a float at a time, took 123 ns a key with it and 78 by address (16 rows of 64 dims).
   */
  float floatAt(int offset) {
    if (BY_ADDRESS && GET_FLOAT != null) {
      try {
        return (float) GET_FLOAT.invokeExact(address + offset);
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    }
    return buf.getFloat(offset);
  }

  /** sun.misc.Unsafe.getFloat(long) bound to the Unsafe instance, or null. */
  private static final MethodHandle GET_FLOAT = Address.getFloatHandle();

  short getShort(int offset) {
    return buf.getShort(offset);
  }

  int getInt(int offset) {
    return buf.getInt(offset);
  }

  void putFloat(int offset, float v) {
    buf.putFloat(offset, v);
  }

  /**
   * VectorSupport.load(vmClass, elementClass, lanes, base, offset, container, index, species,
   * fallback) with everything but (offset, container, index) bound: the JDK's own vector load.
   * Interpreted or C1-compiled code runs the fallback, fromByteBuffer on the same bytes.
   */
  private static MethodHandle loadHandle(VectorSpecies<?> species, Class<?> vectorType)
      throws Throwable {
    Class<?> support = Class.forName("jdk.internal.vm.vector.VectorSupport");
    Class<?> speciesType = Class.forName("jdk.internal.vm.vector.VectorSupport$VectorSpecies");
    Class<?> operation = Class.forName("jdk.internal.vm.vector.VectorSupport$LoadOperation");
    String element = species.elementType() == float.class ? "Float" : "Int";
    Class<?> concrete =
        Class.forName("jdk.incubator.vector." + element + species.vectorBitSize() + "Vector");
    MethodHandle load =
        MethodHandles.lookup()
            .findStatic(
                support,
                "load",
                MethodType.methodType(
                    Object.class,
                    Class.class,
                    Class.class,
                    int.class,
                    Object.class,
                    long.class,
                    Object.class,
                    int.class,
                    speciesType,
                    operation));
    // the fallback as a lambda class implementing the JDK's interface (a direct call, not
    // reflection: interpreted and C1-compiled code run it until C2 takes over)
    MethodType erased = MethodType.methodType(Object.class, Object.class, int.class, speciesType);
    MethodHandles.Lookup lookup = MethodHandles.lookup();
    MethodHandle impl =
        lookup.findStatic(
            NativeView.class,
            species.elementType() == float.class ? "floatsFromBuffer" : "intsFromBuffer",
            MethodType.methodType(Object.class, Object.class, int.class, Object.class));
    Object fallback =
        LambdaMetafactory.metafactory(
                lookup, "load", MethodType.methodType(operation), erased, impl, erased)
            .getTarget()
            .invoke();
    // (vmClass, elementClass, lanes, base) bound: a null base tells C2 the load is off-heap
    load =
        MethodHandles.insertArguments(
            load, 0, concrete, species.elementType(), species.length(), null);
    load = MethodHandles.insertArguments(load, 3, species, fallback); // (offset, container, index)
    return load.asType(MethodType.methodType(vectorType, long.class, ByteBuffer.class, int.class));
  }

  private static Object floatsFromBuffer(Object buf, int at, Object species) {
    return FloatVector.fromByteBuffer(F, (ByteBuffer) buf, at, LE);
  }

  private static Object intsFromBuffer(Object buf, int at, Object species) {
    return IntVector.fromByteBuffer(I, (ByteBuffer) buf, at, LE);
  }

  /**
   * Interpreted code runs the handles' fallback and only C2 uses the address, so the probe checks
   * the address itself (every float of a buffer read at it equals the buffer's) and that the
   * handles run.
   */
  private static void probe(MethodHandle floats, MethodHandle ints) throws Throwable {
    ByteBuffer b = ByteBuffer.allocateDirect(F.vectorByteSize() * 2).order(LE);
    for (int i = 0; i < b.capacity() / 4; i++) {
      b.putFloat(i * 4, i * 1.5f - 3);
    }
    long at = Address.of(b);
    for (int i = 0; i < b.capacity() / 4; i++) {
      if (Float.floatToRawIntBits(Address.floatAt(at + i * 4L))
          != Float.floatToRawIntBits(b.getFloat(i * 4))) {
        throw new IllegalStateException("a direct buffer's address field is not its memory");
      }
    }
    int off = 4;
    FloatVector f = (FloatVector) floats.invokeExact(at + off, b, off);
    IntVector n = (IntVector) ints.invokeExact(at + off, b, off);
    if (!f.equals(FloatVector.fromByteBuffer(F, b, off, LE))
        || !n.equals(IntVector.fromByteBuffer(I, b, off, LE))) {
      throw new IllegalStateException("the vector loads read other values");
    }
  }

  /** A direct buffer's address, read from java.nio.Buffer's field through sun.misc.Unsafe. */
  private static final class Address {
    private static final Object UNSAFE;
    private static final java.lang.reflect.Method GET_LONG;
    private static final java.lang.reflect.Method GET_FLOAT;
    private static final long FIELD;

    static {
      try {
        Class<?> unsafe = Class.forName("sun.misc.Unsafe");
        Field f = unsafe.getDeclaredField("theUnsafe");
        f.setAccessible(true);
        UNSAFE = f.get(null);
        FIELD =
            (Long)
                unsafe
                    .getMethod("objectFieldOffset", Field.class)
                    .invoke(UNSAFE, Buffer.class.getDeclaredField("address"));
        GET_LONG = unsafe.getMethod("getLong", Object.class, long.class);
        GET_FLOAT = unsafe.getMethod("getFloat", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    static long of(ByteBuffer direct) {
      try {
        return (Long) GET_LONG.invoke(UNSAFE, direct, FIELD);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot read a direct buffer's address", e);
      }
    }

    /** Unsafe.getFloat(long address) as a constant handle, or null where it cannot be made. */
    static MethodHandle getFloatHandle() {
      try {
        return MethodHandles.lookup().unreflect(GET_FLOAT).bindTo(UNSAFE);
      } catch (IllegalAccessException e) {
        return null;
      }
    }

    /** The float at a native address (the probe's check of {@link #of}). */
    static float floatAt(long address) throws ReflectiveOperationException {
      return (Float) GET_FLOAT.invoke(UNSAFE, address);
    }
  }
}
