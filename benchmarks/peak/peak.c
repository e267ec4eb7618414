// One core's multiply-accumulate peak, for "how close to the hardware is this engine": twelve
// independent chains of AVX-512 vpdpbusd (u8 x s8, 64 MACs each) and of vfmadd231ps (f32, 16 MACs
// each). Build and run (an AVX-512 VNNI CPU):
//   gcc -O2 -mavx512f -mavx512vnni -mavx512bw benchmarks/peak/peak.c -o /tmp/peak && /tmp/peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  __m512i a=_mm512_set1_epi8(1), b=_mm512_set1_epi8(2);
  __m512i c0=_mm512_setzero_si512(),c1=c0,c2=c0,c3=c0,c4=c0,c5=c0,c6=c0,c7=c0,c8=c0,c9=c0,c10=c0,c11=c0;
  __m512 f0=_mm512_setzero_ps(),f1=f0,f2=f0,f3=f0,f4=f0,f5=f0,f6=f0,f7=f0,f8=f0,f9=f0,f10=f0,f11=f0, x=_mm512_set1_ps(1.0001f), y=_mm512_set1_ps(0.999f);
  long n=200000000; double t=now();
  for(long i=0;i<n;i++){
    c0=_mm512_dpbusd_epi32(c0,a,b);c1=_mm512_dpbusd_epi32(c1,a,b);c2=_mm512_dpbusd_epi32(c2,a,b);c3=_mm512_dpbusd_epi32(c3,a,b);
    c4=_mm512_dpbusd_epi32(c4,a,b);c5=_mm512_dpbusd_epi32(c5,a,b);c6=_mm512_dpbusd_epi32(c6,a,b);c7=_mm512_dpbusd_epi32(c7,a,b);
    c8=_mm512_dpbusd_epi32(c8,a,b);c9=_mm512_dpbusd_epi32(c9,a,b);c10=_mm512_dpbusd_epi32(c10,a,b);c11=_mm512_dpbusd_epi32(c11,a,b);
    __asm__ volatile("" : "+v"(c0),"+v"(c1),"+v"(c2),"+v"(c3),"+v"(c4),"+v"(c5),"+v"(c6),"+v"(c7),"+v"(c8),"+v"(c9),"+v"(c10),"+v"(c11));
  }
  double dt=now()-t; c0=_mm512_add_epi32(c0,c11);
  printf("vpdpbusd zmm: %.1f GMAC/s (%d)\n", n*12.0*64/dt/1e9, _mm512_reduce_add_epi32(c0));
  t=now(); n/=1;
  for(long i=0;i<n;i++){
    f0=_mm512_fmadd_ps(f0,x,y);f1=_mm512_fmadd_ps(f1,x,y);f2=_mm512_fmadd_ps(f2,x,y);f3=_mm512_fmadd_ps(f3,x,y);
    f4=_mm512_fmadd_ps(f4,x,y);f5=_mm512_fmadd_ps(f5,x,y);f6=_mm512_fmadd_ps(f6,x,y);f7=_mm512_fmadd_ps(f7,x,y);
    f8=_mm512_fmadd_ps(f8,x,y);f9=_mm512_fmadd_ps(f9,x,y);f10=_mm512_fmadd_ps(f10,x,y);f11=_mm512_fmadd_ps(f11,x,y);
    __asm__ volatile("" : "+v"(f0),"+v"(f1),"+v"(f2),"+v"(f3),"+v"(f4),"+v"(f5),"+v"(f6),"+v"(f7),"+v"(f8),"+v"(f9),"+v"(f10),"+v"(f11));
  }
  dt=now()-t; f0=_mm512_add_ps(f0,f11);
  printf("vfmadd zmm f32: %.1f GMAC/s (%f)\n", n*12.0*16/dt/1e9, _mm512_reduce_add_ps(f0));
}
